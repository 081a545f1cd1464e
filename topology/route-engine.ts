import { IndexedHeap } from './heap.js'

/** A directed edge for the engine: node indices and a cost (Infinity = unusable). */
export interface EngineEdge {
  from: number
  to: number
  cost: number
}

/** Keep the current next hop unless the best one is cheaper by more than this fraction… */
export const ROUTE_SLACK_RATIO = 0.05
/** …and by more than this many cost units (ms). */
export const ROUTE_SLACK_MIN = 1

const NONE = -1

/**
 * All-pairs next hops and loop-free alternates over a fixed set of nodes and edges, on typed
 * arrays (CSR). Node indices are positions in the id list, which callers keep sorted so that "the
 * smallest index" means "the smallest id" in tie-breaks.
 *
 * For each destination d it runs Dijkstra on the reversed graph, giving dist(u, d) for every u.
 * u's next hop toward d is the neighbour v minimising c(u,v) + dist(v, d), ties to the smaller
 * index; the current next hop is kept while it is still strictly closer to d than u is and no more
 * than ROUTE_SLACK worse than the best (route hysteresis that cannot loop: every hop strictly lowers
 * dist to d). The backup is the cheapest other neighbour v with dist(v, d) < dist(v, u) + dist(u, d)
 * (RFC 5286's loop-free condition), so v will not send the packet back through u.
 */
export class RouteEngine {
  readonly n: number
  /** dist[d * n + u] = cost of the best path from u to d. */
  readonly dist: Float64Array
  /** next[d * n + u] = index of u's next hop toward d, or -1. */
  readonly next: Int32Array
  /** backup[d * n + u] = index of u's loop-free alternate toward d, or -1. */
  readonly backup: Int32Array
  // CSR of out-edges (for next-hop choice) and in-edges (for Dijkstra toward a destination).
  private readonly outStart: Int32Array
  private readonly outTo: Int32Array
  private readonly outCost: Float64Array
  private readonly inStart: Int32Array
  private readonly inFrom: Int32Array
  /** in-edge slot → out-edge slot. */
  private readonly inEdge: Int32Array
  /** Costs again, in in-edge order, so Dijkstra's inner loop reads them without indirection. */
  private readonly inCost: Float64Array
  /** out-edge slot → in-edge slot, to keep inCost in step with outCost. */
  private readonly outToIn: Int32Array
  /** Per out-edge slot: dist(to, from), i.e. how far the neighbour is from the edge's tail. */
  private readonly backDist: Float64Array
  private readonly outFrom: Int32Array
  private readonly heap: IndexedHeap
  // Scratch rows for one Dijkstra run: small and cache-hot, copied into the matrices at the end.
  private readonly rowDist: Float64Array
  private readonly rowNext: Int32Array

  constructor (n: number, edges: EngineEdge[]) {
    this.n = n
    const m = edges.length
    this.outStart = new Int32Array(n + 1)
    this.inStart = new Int32Array(n + 1)
    for (const e of edges) { this.outStart[e.from + 1]++; this.inStart[e.to + 1]++ }
    for (let i = 0; i < n; i++) { this.outStart[i + 1] += this.outStart[i]; this.inStart[i + 1] += this.inStart[i] }
    this.outTo = new Int32Array(m)
    this.outCost = new Float64Array(m)
    this.outFrom = new Int32Array(m)
    this.backDist = new Float64Array(m)
    this.inFrom = new Int32Array(m)
    this.inEdge = new Int32Array(m)
    this.inCost = new Float64Array(m)
    this.outToIn = new Int32Array(m)
    // Out-edges sorted by target index, so scans meet smaller ids first.
    const sorted = [...edges].sort((a, b) => a.from - b.from || a.to - b.to)
    const outFill = this.outStart.slice(0, n)
    const inFill = this.inStart.slice(0, n)
    for (const e of sorted) {
      const o = outFill[e.from]++
      this.outTo[o] = e.to
      this.outFrom[o] = e.from
      this.outCost[o] = e.cost
      const i = inFill[e.to]++
      this.inFrom[i] = e.from
      this.inEdge[i] = o
      this.inCost[i] = e.cost
      this.outToIn[o] = i
    }
    this.dist = new Float64Array(n * n).fill(Infinity)
    this.next = new Int32Array(n * n).fill(NONE)
    this.backup = new Int32Array(n * n).fill(NONE)
    this.heap = new IndexedHeap(n)
    this.rowDist = new Float64Array(n)
    this.rowNext = new Int32Array(n)
  }

  /** Computes every destination's distances, then every next hop and backup. */
  computeAll (): void {
    for (let d = 0; d < this.n; d++) this.dijkstraTo(d)
    this.refreshBackDist()
    for (let d = 0; d < this.n; d++) this.chooseBackups(d)
  }

  /** backDist[o] = dist(outTo[o], outFrom[o]): read by the loop-free test, kept edge-aligned. */
  private refreshBackDist (): void {
    const { outTo, outFrom, backDist, dist, n } = this
    for (let o = 0; o < outTo.length; o++) backDist[o] = dist[outFrom[o] * n + outTo[o]]
  }

  /** The out-edge slot of from→to, or -1. */
  edgeSlot (from: number, to: number): number {
    for (let o = this.outStart[from]; o < this.outStart[from + 1]; o++) if (this.outTo[o] === to) return o
    return NONE
  }

  edgeCost (from: number, to: number): number {
    const o = this.edgeSlot(from, to)
    return o < 0 ? Infinity : this.outCost[o]
  }

  /**
   * Changes one edge's cost and recomputes only what it can affect: the destinations whose
   * shortest-path trees the edge enters or leaves. Returns how many destinations were recomputed.
   */
  setCost (from: number, to: number, cost: number): number {
    const o = this.edgeSlot(from, to)
    if (o < 0) throw new RangeError(`no edge ${from}→${to}`)
    const old = this.outCost[o]
    if (old === cost) return 0
    this.outCost[o] = cost
    this.inCost[this.outToIn[o]] = cost
    const n = this.n
    const affected: number[] = []
    for (let d = 0; d < n; d++) {
      const du = this.dist[d * n + from]
      const viaOld = old + this.dist[d * n + to]
      const viaNew = cost + this.dist[d * n + to]
      // Enters the tree: the edge now beats u's distance. Leaves or worsens it: the edge carried
      // u's best path (within rounding) before.
      if (viaNew < du || (cost > old && Math.abs(viaOld - du) <= 1e-9 * Math.max(1, du)) || this.next[d * n + from] === to) {
        affected.push(d)
      }
    }
    for (const d of affected) this.dijkstraTo(d)
    // Backups depend on dist(v, u) for every neighbour v of u (backDist), so refresh those, then
    // redo the backups of every destination whose row changed and every node whose column did.
    this.refreshBackDist()
    const redo = new Uint8Array(n)
    for (const d of affected) redo[d] = 1
    for (const d of affected) this.chooseBackups(d)
    for (const u of affected) {
      for (let d = 0; d < n; d++) if (redo[d] === 0) this.chooseBackup(u, d)
    }
    return affected.length
  }

  /**
   * Dijkstra from d over reversed edges: dist(u, d) for every u, and u's next hop toward d (its
   * parent in the tree), ties to the smaller index. Then route hysteresis against the previous
   * next hops.
   */
  private dijkstraTo (d: number): void {
    const n = this.n
    const dist = this.rowDist
    const par = this.rowNext
    dist.fill(Infinity)
    par.fill(NONE)
    const heap = this.heap
    heap.clear()
    dist[d] = 0
    heap.push(d, 0)
    const { inStart, inFrom, inCost } = this
    while (heap.size > 0) {
      const x = heap.pop()
      const dx = dist[x]
      const end = inStart[x + 1]
      for (let i = inStart[x]; i < end; i++) {
        const w = inFrom[i]
        const alt = dx + inCost[i]
        const dw = dist[w]
        if (alt < dw) {
          dist[w] = alt
          par[w] = x
          heap.push(w, alt)
        } else if (alt === dw && x < par[w]) {
          par[w] = x
        }
      }
    }
    const base = d * n
    const prevRow = this.next
    const { outStart, outTo, outCost } = this
    for (let u = 0; u < n; u++) {
      const prev = prevRow[base + u]
      const best = par[u]
      if (prev === NONE || prev === best || best === NONE) continue
      // Keep the previous next hop while it is strictly closer to d and nearly as good.
      const dp = dist[prev]
      if (!(dp < dist[u])) continue
      for (let o = outStart[u]; o < outStart[u + 1]; o++) {
        if (outTo[o] !== prev) continue
        const bestCost = dist[u]
        if (outCost[o] + dp <= bestCost + Math.max(ROUTE_SLACK_MIN, ROUTE_SLACK_RATIO * bestCost)) par[u] = prev
        break
      }
    }
    this.dist.set(dist, base)
    this.next.set(par, base)
  }

  private chooseBackups (d: number): void {
    for (let u = 0; u < this.n; u++) this.chooseBackup(u, d)
  }

  private chooseBackup (u: number, d: number): void {
    const base = d * this.n
    const primary = this.next[base + u]
    if (u === d || primary === NONE) { this.backup[base + u] = NONE; return }
    const { outStart, outTo, outCost, dist, backDist } = this
    const du = dist[base + u]
    let best = NONE
    let bestCost = Infinity
    for (let o = outStart[u]; o < outStart[u + 1]; o++) {
      const v = outTo[o]
      const c = outCost[o]
      if (v === primary || c === Infinity) continue
      const dv = dist[base + v]
      // RFC 5286 inequality 1: v's own best path to d does not come back through u.
      if (!(dv < backDist[o] + du)) continue
      if (c + dv < bestCost) { bestCost = c + dv; best = v }
    }
    this.backup[base + u] = best
  }

  /** Node indices from u to d following next hops, or [] when unreachable. */
  path (u: number, d: number): number[] {
    const out = [u]
    let at = u
    while (at !== d) {
      at = this.next[d * this.n + at]
      if (at === NONE || out.length > this.n) return []
      out.push(at)
    }
    return out
  }
}
