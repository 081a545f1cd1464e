import type { Csr } from './csr.js'
import { isLoopFree, scanBackup } from './lfa.js'
import { ReverseDijkstra } from './shortest-tree.js'

/** Keep the current next hop unless the best one is cheaper by more than this fraction… */
export const ROUTE_SLACK_RATIO = 0.05
/** …and by more than this many cost units (ms). */
export const ROUTE_SLACK_MIN = 1

const NONE = -1

/**
 * The route engine's state: the graph and the all-pairs rows, each indexed [d * n + u]. Plain
 * typed arrays, so a helper thread can share them (route-threads.ts).
 *
 * Each row is computed into a RowScratch and then published, copied into the tables whole. The
 * computation only reads the tables, so a row can be computed on any thread, twice, or abandoned
 * half-way; publishing is the one write. A full computation has two phases: tree rows (distances,
 * next hops, backup candidates), then backup rows, which read every row's distances.
 */
export interface RouteTables {
  readonly n: number
  readonly g: Csr
  readonly dist: Float64Array
  readonly next: Int32Array
  /** Between the two phases, row d holds the unconfirmed first candidates instead. */
  readonly backup: Int32Array
}

/** One row's worth of private working space. */
export class RowScratch {
  readonly tree: ReverseDijkstra
  readonly next: Int32Array
  /** Backup candidates after a tree row, confirmed backups after a backup row. */
  readonly backup: Int32Array

  constructor (n: number) {
    this.tree = new ReverseDijkstra(n)
    this.next = new Int32Array(n)
    this.backup = new Int32Array(n)
  }
}

/**
 * Dijkstra toward d, then route hysteresis against the previous next hops in row d; also u's
 * first backup candidate, the best neighbour that is not the chosen next hop.
 */
export function computeTreeRow (t: RouteTables, s: RowScratch, d: number): void {
  const { n, next: prevNext, g } = t
  s.tree.run(g, d)
  const { dist, parent, runnerUp } = s.tree
  const { outStart, outTo, outCost } = g
  const base = d * n
  for (let u = 0; u < n; u++) {
    const best = parent[u]
    const prev = prevNext[base + u]
    let hop = best
    if (prev !== NONE && prev !== best && best !== NONE && dist[prev] < dist[u]) {
      // Keep the previous next hop while it is strictly closer to d and nearly as good.
      const bestCost = dist[u]
      for (let o = outStart[u]; o < outStart[u + 1]; o++) {
        if (outTo[o] !== prev) continue
        if (outCost[o] + dist[prev] <= bestCost + Math.max(ROUTE_SLACK_MIN, ROUTE_SLACK_RATIO * bestCost)) hop = prev
        break
      }
    }
    s.next[u] = hop
    s.backup[u] = hop === best ? runnerUp[u] : best
  }
}

/**
 * Writes a computed tree row into the tables. Returns whether the distance to d changed at any
 * of d's neighbours: only then can the loop-free tests of d's own backups toward other
 * destinations change.
 */
export function publishTreeRow (t: RouteTables, s: RowScratch, d: number): boolean {
  const { n, dist, g } = t
  const base = d * n
  const fresh = s.tree.dist
  let moved = false
  for (let o = g.outStart[d]; o < g.outStart[d + 1] && !moved; o++) moved = fresh[g.outTo[o]] !== dist[base + g.outTo[o]]
  dist.set(fresh, base)
  t.next.set(s.next, base)
  t.backup.set(s.backup, base)
  return moved
}

/** Confirms row d's backup candidates as loop-free alternates, or finds the next-best ones. */
export function computeBackupRow (t: RouteTables, s: RowScratch, d: number): void {
  const { n, dist, next, backup, g } = t
  const out = s.backup
  const base = d * n
  for (let u = 0; u < n; u++) {
    const primary = next[base + u]
    const candidate = backup[base + u]
    // No candidate means no other neighbour reaches d at all.
    if (u === d || primary === NONE || candidate === NONE) out[u] = NONE
    else if (candidate !== primary && isLoopFree(dist, next, n, u, candidate, d)) out[u] = candidate
    // The best alternative loops (or duplicates the primary); the next-best might not.
    else out[u] = scanBackup(g, dist, next, u, d, primary)
  }
}

export function publishBackupRow (t: RouteTables, s: RowScratch, d: number): void {
  t.backup.set(s.backup, d * t.n)
}

/** Recomputes u's backup toward every destination whose row is not flagged in `skip`. */
export function rescanBackupColumn (t: RouteTables, u: number, skip: Uint8Array): void {
  const { n, next, backup, dist, g } = t
  for (let d = 0; d < n; d++) {
    if (skip[d] === 1) continue
    const primary = next[d * n + u]
    backup[d * n + u] = u === d || primary === NONE ? NONE : scanBackup(g, dist, next, u, d, primary)
  }
}
