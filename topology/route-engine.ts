import { buildCsr, edgeSlot, localAlloc, sharedAlloc, type EngineEdge } from './csr.js'
import { PHASE_BACKUPS, PHASE_TREES } from './row-claims.js'
import {
  RowScratch, computeBackupRow, computeTreeRow, publishBackupRow, publishTreeRow, rescanBackupColumn, type RouteTables
} from './route-rows.js'
import { RouteThreads, serialRunner, type RowRunner } from './route-threads.js'

export type { EngineEdge } from './csr.js'
export { ROUTE_SLACK_MIN, ROUTE_SLACK_RATIO } from './route-rows.js'

const NONE = -1

/**
 * Below this many edge relaxations per full computation (n · m), a full computation takes well
 * under a millisecond and handing half of it to the helper thread costs more than it saves.
 */
export const PARALLEL_MIN_WORK = 50_000

export interface RouteEngineOptions {
  /**
   * Share full computations with a helper thread (route-threads.ts). Default: when n · m is at
   * least PARALLEL_MIN_WORK. The results are identical either way.
   */
  parallel?: boolean
}

/**
 * All-pairs next hops and loop-free alternates over a fixed set of nodes and edges, on typed
 * arrays. Node indices are positions in the id list, which callers keep sorted so that "the
 * smallest index" means "the smallest id" in tie-breaks. Costs must be positive (cost.ts adds a
 * per-hop cost to every usable link).
 *
 * For each destination d it runs Dijkstra on the reversed graph (shortest-tree.ts), giving
 * dist(u, d) for every u. u's next hop toward d is the neighbour v minimising c(u,v) + dist(v, d),
 * ties to the smaller index; the current next hop is kept while it is still strictly closer to d
 * than u is and no more than ROUTE_SLACK worse than the best (route hysteresis that cannot loop:
 * every hop strictly lowers dist to d). The backup is the cheapest other neighbour, ties to the
 * smaller index, that is a loop-free alternate (lfa.ts): v will not send the packet back through u.
 *
 * A full computation is one Dijkstra per destination, then an O(n²) pass for backups: each
 * Dijkstra also yields u's best alternative neighbour, and the pass only confirms it is loop-free,
 * scanning u's neighbours when it is not (about 5% of pairs on random graphs of degree 16). Both
 * phases are split by destination with a helper thread on large graphs.
 */
export class RouteEngine {
  readonly n: number
  /** dist[d * n + u] = cost of the best path from u to d. */
  readonly dist: Float64Array
  /** next[d * n + u] = index of u's next hop toward d, or -1. */
  readonly next: Int32Array
  /** backup[d * n + u] = index of u's loop-free alternate toward d, or -1. */
  readonly backup: Int32Array
  private readonly tables: RouteTables
  private readonly scratch: RowScratch
  private readonly parallel: boolean

  constructor (n: number, edges: readonly EngineEdge[], options: RouteEngineOptions = {}) {
    this.n = n
    this.parallel = options.parallel ?? n * edges.length >= PARALLEL_MIN_WORK
    const alloc = this.parallel ? sharedAlloc : localAlloc
    this.dist = alloc.f64(n * n).fill(Infinity)
    this.next = alloc.i32(n * n).fill(NONE)
    this.backup = alloc.i32(n * n).fill(NONE)
    this.tables = { n, g: buildCsr(n, edges, alloc), dist: this.dist, next: this.next, backup: this.backup }
    this.scratch = new RowScratch(n)
  }

  /** Computes every destination's distances and next hops, then every backup. */
  computeAll (): void {
    const runner: RowRunner = (this.parallel ? RouteThreads.shared() : undefined) ?? serialRunner
    const { tables, scratch } = this
    runner.run(tables, PHASE_TREES, (d) => { computeTreeRow(tables, scratch, d); publishTreeRow(tables, scratch, d) })
    // Backups need every row: the loop-free test reads dist(v, u), which is row u.
    runner.run(tables, PHASE_BACKUPS, (d) => { computeBackupRow(tables, scratch, d); publishBackupRow(tables, scratch, d) })
  }

  /** The out-edge slot of from→to, or -1. */
  edgeSlot (from: number, to: number): number {
    return edgeSlot(this.tables.g, from, to)
  }

  edgeCost (from: number, to: number): number {
    const o = edgeSlot(this.tables.g, from, to)
    return o < 0 ? Infinity : this.tables.g.outCost[o]
  }

  /**
   * Changes one edge's cost and recomputes only what it can affect: the destinations whose
   * shortest-path trees the edge enters or leaves. Returns how many destinations were recomputed.
   * Runs on the calling thread: the work is a few hundred rows at most.
   */
  setCost (from: number, to: number, cost: number): number {
    const { tables, scratch, n, dist, next } = this
    const g = tables.g
    const o = edgeSlot(g, from, to)
    if (o < 0) throw new RangeError(`no edge ${from}→${to}`)
    const old = g.outCost[o]
    if (old === cost) return 0
    g.outCost[o] = cost
    g.inCost[g.outToIn[o]] = cost
    const affected: number[] = []
    const redone = new Uint8Array(n)
    for (let d = 0; d < n; d++) {
      const du = dist[d * n + from]
      const viaOld = old + dist[d * n + to]
      const viaNew = cost + dist[d * n + to]
      // Enters the tree: the edge now beats u's distance. Leaves or worsens it: the edge carried
      // u's best path (within rounding) before.
      if (viaNew < du || (cost > old && Math.abs(viaOld - du) <= 1e-9 * Math.max(1, du)) || next[d * n + from] === to) {
        affected.push(d)
        redone[d] = 1
      }
    }
    // Rows left alone kept their trees and distances, but two inputs of their backups may have
    // changed: dist(v, u) for u's neighbours v, read by the loop-free test, when row u was
    // recomputed; and the cost of from→to, one of from's candidates.
    const stale: number[] = []
    for (const d of affected) {
      computeTreeRow(tables, scratch, d)
      if (publishTreeRow(tables, scratch, d)) stale.push(d)
    }
    for (const d of affected) { computeBackupRow(tables, scratch, d); publishBackupRow(tables, scratch, d) }
    for (const u of stale) rescanBackupColumn(tables, u, redone)
    if (!stale.includes(from)) rescanBackupColumn(tables, from, redone)
    return affected.length
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
