import type { LinkMetrics } from '../../topology/cost.js'
import { MeshGraph } from '../../topology/mesh-graph.js'

const clean = (rttMs: number): LinkMetrics => ({ rttMs, jitterMs: 0, loss: 0, up: true })
const DOWN: LinkMetrics = { rttMs: NaN, jitterMs: NaN, loss: 1, up: false }

/**
 * Five relays for topology views. a–b–c–d is a clean chain (10 ms RTT a hop: cost 6 under the
 * latency-loss policy) and a–c a slow direct link (40 ms: cost 21), so a reaches c through b with
 * c itself as backup. The only link into e is down and was never measured, so nobody reaches e;
 * e (whose control channel is down) still reaches everyone through d, over a lossy e→d link
 * (2% loss: cost 10.123/2 + 1 + 0.02/0.98 · (10.123 + 100) ≈ 8.309).
 * 'shuffled' adds the same relays and links in another order.
 */
export function fiveRelays (order: 'forward' | 'shuffled' = 'forward'): MeshGraph {
  const g = new MeshGraph()
  const ids = order === 'forward' ? ['a', 'b', 'c', 'd', 'e'] : ['d', 'b', 'e', 'a', 'c']
  for (const id of ids) g.upsertRelay(id, `127.0.0.1:700${id.charCodeAt(0) - 96}`)
  const links: Array<[string, string, LinkMetrics]> = [
    ['a', 'b', clean(10)], ['b', 'a', clean(10)], ['b', 'c', clean(10)], ['c', 'b', clean(10)],
    ['a', 'c', clean(40)], ['c', 'a', clean(40)], ['c', 'd', clean(10)], ['d', 'c', clean(10)],
    ['d', 'e', DOWN], ['e', 'd', { rttMs: 10.123456789, jitterMs: 0, loss: 0.02, up: true }]
  ]
  if (order === 'shuffled') links.reverse()
  for (const [from, to, m] of links) g.updateLink(from, to, m)
  g.setRelayUp('e', false)
  return g
}
