import type { Csr } from './csr.js'

const NONE = -1

/**
 * Whether neighbour v of u is a loop-free alternate toward d: if u's primary link fails and u
 * hands v the packet, v must not hand it back. `dist` and `next` are the engine's all-pairs rows,
 * indexed [d * n + u].
 *
 * Two tests, both required:
 *   1. RFC 5286 inequality 1, dist(v,d) < dist(v,u) + dist(u,d): no shortest path from v to d
 *      runs through u, whichever way v breaks ties.
 *   2. v's actual chain of next hops toward d avoids u. Inequality 1 alone is not enough here:
 *      route hysteresis may keep v on a slightly longer path through u while its shortest path
 *      avoids u; and distances summed in different orders can round apart, so an exact tie (v's
 *      only path runs through u) can pass the inequality by an ulp.
 *
 * The walk for test 2 is short: along a chain of next hops the distance to d never rises (a hop is
 * kept only when strictly closer), so once the chain is strictly closer to d than u is, u cannot
 * follow. A downstream neighbour (dist(v,d) < dist(u,d)), the common case, passes at once.
 */
export function isLoopFree (dist: Float64Array, next: Int32Array, n: number, u: number, v: number, d: number): boolean {
  const base = d * n
  const du = dist[base + u]
  if (!(dist[base + v] < dist[u * n + v] + du)) return false
  for (let x = v, hops = 0; x !== d; x = next[base + x], hops++) {
    if (x === u || x === NONE || hops >= n) return false
    if (dist[base + x] < du) return true
  }
  return true
}

/**
 * u's backup toward d by a full scan of its neighbours: the loop-free one other than `primary`
 * minimising (c(u,v) + dist(v,d), v). The loop-free test runs only on a neighbour that would
 * improve on the best so far, which gives the same answer as filtering first.
 */
export function scanBackup (g: Csr, dist: Float64Array, next: Int32Array, u: number, d: number, primary: number): number {
  const { outStart, outTo, outCost, n } = g
  const base = d * n
  let best = NONE
  let bestCost = Infinity
  const end = outStart[u + 1]
  for (let o = outStart[u]; o < end; o++) {
    const v = outTo[o]
    if (v === primary) continue
    const c = outCost[o] + dist[base + v]
    if (c < bestCost && isLoopFree(dist, next, n, u, v, d)) { best = v; bestCost = c }
  }
  return best
}
