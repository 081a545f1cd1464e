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

/** What a new selection keeps of the last one. */
export interface NeighbourKeep {
  previous: ReadonlyMap<string, ReadonlySet<string>>
  /** Whether an installed next hop of `a` is `b`. */
  inUse: (a: string, b: string) => boolean
  /** Keep every previous link whose ends are both still there, not only those routes use. */
  all?: boolean
}

/** The RTTs relay `a` has measured, as [peer, ms] pairs (a graph's links out of `a`). */
export type MeasuredFrom = (a: string) => Iterable<readonly [string, number]>

/** MeasuredFrom over a pairwise RTT function (tests, benches): O(n) per relay. */
export function measuredFromPairs (ids: readonly string[], rtt: (a: string, b: string) => number | undefined): MeasuredFrom {
  return (a) => {
    const out: Array<[string, number]> = []
    for (const b of ids) {
      const r = b === a ? undefined : rtt(a, b)
      if (r !== undefined) out.push([b, r])
    }
    return out
  }
}

/**
 * Chooses who probes whom. The result is symmetric (if a probes b, b probes a), since a relay only
 * answers probes from its neighbours. `measured(a)` gives the RTTs a has measured.
 *
 * With `keep`, a relay's random slots go first to links of the previous selection, and only the
 * rest are drawn anew. On a refresh (`keep.all` false) only links that routes use (either way)
 * are kept: the refresh then explores with the links nobody uses, instead of dropping the
 * long-haul shortcuts routes are built on every time (at 1,000 relays, re-drawing them all moved
 * flows to other paths every refresh, each move costing packets). Between refreshes (a relay
 * joined or went, `keep.all`) every previous link stays, beyond the random quota when the other
 * end drew it, and a relay draws only to fill empty slots (a newcomer, or one whose neighbours
 * went): re-drawing every relay's random links at each join sent some 55,000 neighbour sets while
 * 1,000 relays joined a controller.
 *
 * Cost: O(n·d log d) for n relays with d measured links each, plus the random draws.
 */
export function selectNeighbours (ids: string[], measured: MeasuredFrom, policy: NeighbourPolicy = DEFAULT_NEIGHBOUR_POLICY, seed = 1, keep?: NeighbourKeep): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>(ids.map((id) => [id, new Set<string>()]))
  const add = (a: string, b: string): void => { out.get(a)?.add(b); out.get(b)?.add(a) }
  if (ids.length <= policy.fullMeshMax) {
    for (const a of ids) for (const b of ids) if (a < b) add(a, b)
    return out
  }
  const r = new Prng(seed)
  for (const a of ids) {
    const near = [...measured(a)].filter(([b]) => b !== a && out.has(b))
      .sort((x, y) => x[1] - y[1] || (x[0] < y[0] ? -1 : 1))
    for (const [b] of near.slice(0, policy.nearest)) add(a, b)
    const want = policy.random + Math.max(0, policy.nearest - near.length)
    // i: the random slots filled.
    let i = 0
    const previous = [...(keep?.previous.get(a) ?? [])].sort()
    if (keep?.all === true) {
      // Between refreshes every previous link stays, whichever end drew it, and so do links that
      // relays before this one drew to it: all fill slots.
      for (const b of previous) if (b !== a && out.has(b)) add(a, b)
      i = (out.get(a)?.size ?? 0) - Math.min(near.length, policy.nearest)
    } else if (keep !== undefined) {
      for (const b of previous) {
        if (i === want) break
        if (b === a || !out.has(b) || out.get(a)?.has(b) === true || !(keep.inUse(a, b) || keep.inUse(b, a))) continue
        add(a, b)
        i++
      }
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
