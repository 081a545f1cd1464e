import type { SimResult } from '../types.js'
import type { SimController } from './sim-controller.js'

/**
 * The controller's last tables as SimResult reports them: for each source, each destination's
 * next hop as installed and the path the controller's graph gives. `sources` and `targets` limit
 * the pairs (a 1,000-relay mesh has a million); sources with no route are left out.
 */
export function finalRoutes (c: SimController, ids: readonly string[], sources: readonly number[], targets: readonly number[]): SimResult['final_routes'] {
  const installed = c.installed
  const out: SimResult['final_routes'] = {}
  for (const u of sources) {
    const row: Record<string, { next_hop: string, path: string[] }> = {}
    let any = false
    for (const d of targets) {
      const nh = u === d ? -1 : installed.nextHop(u, d)
      if (nh < 0) continue
      row[ids[d]] = { next_hop: ids[nh], path: c.graph.path(ids[u], ids[d]) }
      any = true
    }
    if (any) out[ids[u]] = row
  }
  return out
}
