/**
 * A binary min-heap of node indices keyed by distance, with decrease-key, on typed arrays. One
 * instance is reused across Dijkstra runs, so a full table computation allocates nothing per run.
 */
export class IndexedHeap {
  private readonly nodes: Int32Array
  private readonly pos: Int32Array
  private readonly key: Float64Array
  size = 0

  constructor (capacity: number) {
    this.nodes = new Int32Array(capacity)
    this.pos = new Int32Array(capacity).fill(-1)
    this.key = new Float64Array(capacity)
  }

  clear (): void {
    for (let i = 0; i < this.size; i++) this.pos[this.nodes[i]] = -1
    this.size = 0
  }

  /** Inserts `node` with `k`, or lowers its key if it is already in and `k` is smaller. */
  push (node: number, k: number): void {
    let i = this.pos[node]
    if (i < 0) {
      i = this.size++
      this.nodes[i] = node
      this.pos[node] = i
    } else if (k >= this.key[node]) {
      return
    }
    this.key[node] = k
    this.up(i)
  }

  /** Removes and returns the node with the smallest key. */
  pop (): number {
    const nodes = this.nodes
    const top = nodes[0]
    this.pos[top] = -1
    const last = nodes[--this.size]
    if (this.size > 0) {
      nodes[0] = last
      this.pos[last] = 0
      this.down(0)
    }
    return top
  }

  private up (i: number): void {
    const { nodes, pos, key } = this
    const n = nodes[i]
    const k = key[n]
    while (i > 0) {
      const p = (i - 1) >> 1
      const pn = nodes[p]
      if (key[pn] <= k) break
      nodes[i] = pn; pos[pn] = i
      i = p
    }
    nodes[i] = n; pos[n] = i
  }

  private down (i: number): void {
    const { nodes, pos, key } = this
    const size = this.size
    const n = nodes[i]
    const k = key[n]
    for (;;) {
      const l = 2 * i + 1
      if (l >= size) break
      const r = l + 1
      const c = r < size && key[nodes[r]] < key[nodes[l]] ? r : l
      if (key[nodes[c]] >= k) break
      nodes[i] = nodes[c]; pos[nodes[i]] = i
      i = c
    }
    nodes[i] = n; pos[n] = i
  }
}
