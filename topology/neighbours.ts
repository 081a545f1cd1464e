import { Prng } from '../src/transport/impair/prng.js'

export interface NeighbourPolicy {
  /** Up to this many relays, everyone probes everyone. */
  fullMeshMax: number
  /** Beyond it, each relay probes its k nearest by RTT… */
  nearest: number
  /** …plus this many random others, re-drawn at each refresh, so better links can be found. */
  random: number
}

export const DEFAULT_NEIGHBOUR_POLICY: NeighbourPolicy = { fullMeshMax: 32, nearest: 8, random: 4 }

/**
 * Chooses who probes whom. The result is symmetric (if a probes b, b probes a), since a relay only
 * answers probes from its neighbours. `rtt(a, b)` gives the measured RTT in ms, or undefined.
 */
export function selectNeighbours (ids: string[], rtt: (a: string, b: string) => number | undefined, policy: NeighbourPolicy = DEFAULT_NEIGHBOUR_POLICY, seed = 1): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>(ids.map((id) => [id, new Set<string>()]))
  const add = (a: string, b: string): void => { out.get(a)?.add(b); out.get(b)?.add(a) }
  if (ids.length <= policy.fullMeshMax) {
    for (const a of ids) for (const b of ids) if (a < b) add(a, b)
    return out
  }
  const r = new Prng(seed)
  for (const a of ids) {
    const measured = ids.filter((b) => b !== a && rtt(a, b) !== undefined)
      .sort((x, y) => (rtt(a, x) as number) - (rtt(a, y) as number) || (x < y ? -1 : 1))
    for (const b of measured.slice(0, policy.nearest)) add(a, b)
    const want = policy.random + Math.max(0, policy.nearest - measured.length)
    for (let i = 0, tries = 0; i < want && tries < want * 10; tries++) {
      const b = ids[Math.floor(r.next() * ids.length)]
      if (b === a || out.get(a)?.has(b) === true) continue
      add(a, b)
      i++
    }
  }
  return out
}
