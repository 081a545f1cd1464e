import type { TableRoute } from '../src/control/table-codec.js'
import { hopsPolicy } from './cost.js'
import { RouteEngine, type EngineEdge } from './route-engine.js'

/** One relay's route to one destination. */
export interface RouteEntry extends TableRoute {
  cost: number
}

/**
 * Relay `ids[u]`'s routing table from `engine`, whose indices are positions in `ids`:
 * destination id → entry. Unreachable destinations are absent. MeshGraph.tableFor and static mode
 * (hopRoutes) both read their tables this way.
 */
export function tableOf (engine: RouteEngine, ids: readonly string[], u: number): Map<string, RouteEntry> {
  const out = new Map<string, RouteEntry>()
  const n = ids.length
  for (let d = 0; d < n; d++) {
    if (d === u) continue
    const nh = engine.next[d * n + u]
    if (nh < 0) continue
    const b = engine.backup[d * n + u]
    out.set(ids[d], { nextHop: ids[nh], backup: b < 0 ? null : ids[b], cost: engine.dist[d * n + u] })
  }
  return out
}

/**
 * The routes of relay `self` over undirected `links`, by hop count: what a MeshGraph with the
 * `hops` cost policy and every link up computes (same engine, same tie-break to the smallest id,
 * same loop-free backups). Static mode uses this rather than MeshGraph itself so that a static
 * relay loads no graphology (docs/performance.md). Undefined when `self` is not in `ids`.
 */
export function hopRoutes (ids: Iterable<string>, links: ReadonlyArray<readonly [string, string]>, self: string): Map<string, RouteEntry> | undefined {
  // Index order is id order: the engine breaks ties to the smaller index.
  const sorted = [...ids].sort()
  const index = new Map(sorted.map((id, i) => [id, i]))
  const u = index.get(self)
  if (u === undefined) return undefined
  const cost = hopsPolicy.cost({ rttMs: NaN, jitterMs: NaN, loss: 0, up: true })
  const edges: EngineEdge[] = []
  const seen = new Set<string>()
  for (const [a, b] of links) {
    const from = index.get(a); const to = index.get(b)
    if (from === undefined || to === undefined || from === to) continue
    for (const [x, y] of [[from, to], [to, from]]) {
      if (seen.has(`${x} ${y}`)) continue
      seen.add(`${x} ${y}`)
      edges.push({ from: x, to: y, cost })
    }
  }
  // A static mesh is small and computed once: no helper threads in a relay.
  const engine = new RouteEngine(sorted.length, edges, { parallel: false })
  engine.computeAll()
  return tableOf(engine, sorted, u)
}
