import { Prng } from '../src/prng.js'

export interface NeighbourPolicy {
  /** Up to this many relays, everyone probes everyone. */
  fullMeshMax: number
  /** Beyond it, each relay probes its k nearest by RTT… */
  nearest: number
  /** …plus this many random others, re-drawn at each refresh, so better links can be found. */
  random: number
}

export const DEFAULT_NEIGHBOUR_POLICY: NeighbourPolicy = { fullMeshMax: 32, nearest: 8, random: 4 }

/** What a new selection keeps of the last one: its links that routes use. */
export interface NeighbourKeep {
  previous: ReadonlyMap<string, ReadonlySet<string>>
  /** Whether an installed next hop of `a` is `b`. */
  inUse: (a: string, b: string) => boolean
}

/**
 * Chooses who probes whom. The result is symmetric (if a probes b, b probes a), since a relay only
 * answers probes from its neighbours. `rtt(a, b)` gives the measured RTT in ms, or undefined.
 *
 * With `keep`, a relay's random slots go first to links of the previous selection that routes use
 * (either way), and only the rest are drawn anew. A refresh then explores with the links nobody
 * uses, instead of dropping the long-haul shortcuts routes are built on every time: at 1,000
 * relays, re-drawing them all moved flows to other paths every refresh, each move costing packets.
 */
export function selectNeighbours (ids: string[], rtt: (a: string, b: string) => number | undefined, policy: NeighbourPolicy = DEFAULT_NEIGHBOUR_POLICY, seed = 1, keep?: NeighbourKeep): Map<string, Set<string>> {
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
    let i = 0
    for (const b of keep === undefined ? [] : [...(keep.previous.get(a) ?? [])].sort()) {
      if (i === want) break
      if (b === a || !out.has(b) || out.get(a)?.has(b) === true || !(keep?.inUse(a, b) === true || keep?.inUse(b, a) === true)) continue
      add(a, b)
      i++
    }
    for (let tries = 0; i < want && tries < want * 10; tries++) {
      const b = ids[Math.floor(r.next() * ids.length)]
      if (b === a || out.get(a)?.has(b) === true) continue
      add(a, b)
      i++
    }
  }
  return out
}

/** The result of one neighbour push (planNeighbours). */
export interface NeighbourPlan {
  /** The selection: the links the graph holds. Reports of any other link are ignored. */
  graph: Map<string, Set<string>>
  /** What each relay is told to probe and accept: the selection plus links still forwarded over. */
  probe: Map<string, Set<string>>
  /** Some relay probes a link outside the selection; push again once new tables are out. */
  lingering: boolean
}

/**
 * Make before break. A refresh re-draws the random links, and dropping a link at once from both
 * the graph and the relays' probe sets would lose the traffic still sent over it until the next
 * table version arrives. So the graph takes the new `selection` at once (routes move off dropped
 * links with the next computation), while each relay keeps probing, and accepting traffic on, any
 * link that an installed next hop still uses (`nextHopsInUse` yields relay and hop pairs), until
 * a push after the new tables are out finds it unused. Pairs naming relays outside the selection
 * are ignored.
 */
export function planNeighbours (selection: Map<string, Set<string>>, nextHopsInUse: Iterable<readonly [string, string]>): NeighbourPlan {
  const probe = new Map([...selection].map(([id, set]) => [id, new Set(set)]))
  let lingering = false
  for (const [a, b] of nextHopsInUse) {
    const sa = probe.get(a)
    const sb = probe.get(b)
    if (sa === undefined || sb === undefined || a === b || sa.has(b)) continue
    sa.add(b)
    sb.add(a)
    lingering = true
  }
  return { graph: selection, probe, lingering }
}
