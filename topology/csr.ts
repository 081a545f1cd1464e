/** A directed edge for the route engine: node indices and a cost (Infinity = unusable). */
export interface EngineEdge {
  from: number
  to: number
  cost: number
}

/**
 * The route engine's graph in compressed sparse rows, both ways round: out-edges for choosing
 * next hops and backups, in-edges for Dijkstra toward a destination. Costs are stored twice so
 * that each inner loop reads them sequentially; `setCost` keeps the copies in step.
 */
export interface Csr {
  readonly n: number
  /** u's out-edges are slots outStart[u] … outStart[u + 1] - 1, sorted by target index. */
  readonly outStart: Int32Array
  readonly outTo: Int32Array
  readonly outCost: Float64Array
  /** v's in-edges are slots inStart[v] … inStart[v + 1] - 1. */
  readonly inStart: Int32Array
  readonly inFrom: Int32Array
  readonly inCost: Float64Array
  /** out-edge slot → the in-edge slot of the same edge. */
  readonly outToIn: Int32Array
}

/** Int32 and Float64 arrays, in SharedArrayBuffers when a helper thread must see them. */
export interface Alloc {
  i32: (length: number) => Int32Array
  f64: (length: number) => Float64Array
}

export const localAlloc: Alloc = {
  i32: (length) => new Int32Array(length),
  f64: (length) => new Float64Array(length)
}

export const sharedAlloc: Alloc = {
  i32: (length) => new Int32Array(new SharedArrayBuffer(length * 4)),
  f64: (length) => new Float64Array(new SharedArrayBuffer(length * 8))
}

export function buildCsr (n: number, edges: readonly EngineEdge[], alloc: Alloc = localAlloc): Csr {
  const m = edges.length
  const outStart = alloc.i32(n + 1)
  const inStart = alloc.i32(n + 1)
  for (const e of edges) {
    if (!(e.from >= 0 && e.from < n && e.to >= 0 && e.to < n)) throw new RangeError(`edge ${e.from}→${e.to} is outside 0…${n - 1}`)
    outStart[e.from + 1]++
    inStart[e.to + 1]++
  }
  for (let i = 0; i < n; i++) { outStart[i + 1] += outStart[i]; inStart[i + 1] += inStart[i] }
  const g: Csr = {
    n,
    outStart,
    outTo: alloc.i32(m),
    outCost: alloc.f64(m),
    inStart,
    inFrom: alloc.i32(m),
    inCost: alloc.f64(m),
    outToIn: alloc.i32(m)
  }
  // Sorting by (from, to) puts each out-list in target order, so a scan that keeps the first of
  // equal-cost neighbours keeps the smallest index.
  const sorted = [...edges].sort((a, b) => a.from - b.from || a.to - b.to)
  const outFill = outStart.slice(0, n)
  const inFill = inStart.slice(0, n)
  for (const e of sorted) {
    const o = outFill[e.from]++
    const i = inFill[e.to]++
    g.outTo[o] = e.to
    g.outCost[o] = e.cost
    g.inFrom[i] = e.from
    g.inCost[i] = e.cost
    g.outToIn[o] = i
  }
  return g
}

/** The out-edge slot of from→to, or -1. */
export function edgeSlot (g: Csr, from: number, to: number): number {
  const end = g.outStart[from + 1]
  for (let o = g.outStart[from]; o < end; o++) if (g.outTo[o] === to) return o
  return -1
}
