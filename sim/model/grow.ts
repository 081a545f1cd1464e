/** A copy of `a` with room for `n` elements; the new tail holds `fill`. */
export function growInt32 (a: Int32Array, n: number, fill = 0): Int32Array<ArrayBuffer> {
  const g = new Int32Array(n)
  if (fill !== 0) g.fill(fill, a.length)
  g.set(a)
  return g
}

/** A copy of `a` with room for `n` elements; the new tail holds `fill`. */
export function growFloat64 (a: Float64Array, n: number, fill = 0): Float64Array<ArrayBuffer> {
  const g = new Float64Array(n)
  if (fill !== 0) g.fill(fill, a.length)
  g.set(a)
  return g
}
