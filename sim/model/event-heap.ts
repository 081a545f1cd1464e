/** Children per heap node: a 4-ary heap is half as deep as a binary one and sifts through adjacent memory. */
const ARITY = 4

/**
 * A min-heap of event slots keyed by (time, seq), on typed arrays. `seq` is the order events were
 * posted in, so events due at the same virtual instant run first-posted first: with it, a run is a
 * pure function of its inputs (no tie is ever broken by chance).
 *
 * Keys live in heap order beside the slots, so sifting compares adjacent memory rather than chasing
 * slot → key. Capacity doubles on demand; nothing is allocated per event.
 */
export class EventHeap {
  private time: Float64Array
  private seq: Float64Array
  private slot: Int32Array
  size = 0

  constructor (capacity = 1024) {
    this.time = new Float64Array(capacity)
    this.seq = new Float64Array(capacity)
    this.slot = new Int32Array(capacity)
  }

  /** Time of the earliest event; the heap must not be empty. */
  peekTime (): number { return this.time[0] }

  push (time: number, seq: number, slot: number): void {
    if (this.size === this.time.length) this.grow()
    const { time: t, seq: s, slot: p } = this
    let i = this.size++
    while (i > 0) {
      const parent = ((i - 1) / ARITY) | 0
      const pt = t[parent]
      if (pt < time || (pt === time && s[parent] < seq)) break
      t[i] = pt; s[i] = s[parent]; p[i] = p[parent]
      i = parent
    }
    t[i] = time; s[i] = seq; p[i] = slot
  }

  /** Removes the earliest event and returns its slot; the heap must not be empty. */
  pop (): number {
    const { time: t, seq: s, slot: p } = this
    const top = p[0]
    const last = --this.size
    if (last === 0) return top
    const time = t[last]; const seq = s[last]; const slot = p[last]
    let i = 0
    for (;;) {
      const first = ARITY * i + 1
      if (first >= last) break
      const end = first + ARITY < last ? first + ARITY : last
      let c = first
      for (let j = first + 1; j < end; j++) {
        if (t[j] < t[c] || (t[j] === t[c] && s[j] < s[c])) c = j
      }
      if (time < t[c] || (time === t[c] && seq < s[c])) break
      t[i] = t[c]; s[i] = s[c]; p[i] = p[c]
      i = c
    }
    t[i] = time; s[i] = seq; p[i] = slot
    return top
  }

  private grow (): void {
    const n = this.time.length * 2
    const t = new Float64Array(n); t.set(this.time); this.time = t
    const s = new Float64Array(n); s.set(this.seq); this.seq = s
    const p = new Int32Array(n); p.set(this.slot); this.slot = p
  }
}
