import type { TableEntry } from '../src/control/messages.js'
import { routeFromWire, routeToWire, type TableRoute } from '../src/control/table-codec.js'

/** One relay's part of one round. */
export interface RoundPart {
  upserts: Record<string, TableEntry>
  removals: string[]
}

/**
 * Round r → relay id → what that relay changes in round r, and the relays of round r − 1 whose
 * parts it must wait for (`waitsFor`; none in rounds 0 and 1). Rounds are ascending.
 */
export type RolloutPlan = Array<{ round: number, parts: Map<string, RoundPart>, waitsFor: Map<string, Set<string>> }>

export type DesiredEntry = TableRoute

/** Longest path a rollout plan follows (a bound for a broken `nextHop`, never reached by routes). */
const MAX_PATH_HOPS = 65_536

/**
 * Orders a table change so that no forwarding loop forms while relays apply it.
 *
 * An entry (u → d) goes out one round after the first entry toward d whose next hop changes on u's
 * new path below u (at v), or in round 1 if none does, and u's part of that round waits for v's
 * part of the round before to be acknowledged (`waitsFor`). So when u switches to its new next
 * hop, every relay after it down to d already forwards on its new route (it changed before, or
 * not at all). Following next hops from any relay then either stays on old, loop-free routes, or
 * joins the new tree and descends it: no cycle can close. Removals (d became unreachable) go in
 * round 0: dropping never loops. A change of backup only moves nothing and orders nothing below
 * it. Toward a destination no relay moves an installed route for (only additions and backup
 * changes), every entry goes in round 1.
 *
 * Until M6 an entry went in the round of its new path's hop count, which is never earlier and is
 * usually later: at 1,000 relays a link failure took 7–9 rounds and every join as many, each a
 * round trip to the slowest relay in it.
 *
 * `nextHop(u, d)` is u's next hop toward d on the new routes. Pure: the caller sends and waits.
 */
export function planRollout (
  installed: ReadonlyMap<string, ReadonlyMap<string, DesiredEntry>>,
  desired: ReadonlyMap<string, ReadonlyMap<string, DesiredEntry>>,
  nextHop: (u: string, d: string) => string | undefined
): RolloutPlan {
  const rounds = new Map<number, { parts: Map<string, RoundPart>, waitsFor: Map<string, Set<string>> }>()
  const roundAt = (round: number): { parts: Map<string, RoundPart>, waitsFor: Map<string, Set<string>> } => {
    let r = rounds.get(round)
    if (r === undefined) { r = { parts: new Map(), waitsFor: new Map() }; rounds.set(round, r) }
    return r
  }
  const part = (round: number, relay: string): RoundPart => {
    const { parts } = roundAt(round)
    let p = parts.get(relay)
    if (p === undefined) { p = { upserts: {}, removals: [] }; parts.set(relay, p) }
    return p
  }
  // u's entry toward d waits for v's (the first relay below u whose next hop toward d changes).
  const below = new Map<string, string>()
  // Whether v's next hop toward d changes.
  const moves = (v: string, d: string): boolean => {
    const w = desired.get(v)?.get(d)
    return w !== undefined && installed.get(v)?.get(d)?.nextHop !== w.nextHop
  }
  // Destinations toward which some relay moves an installed route to another next hop. Toward any
  // other (a relay that just joined, or came back), every next hop in force is a new route's at
  // every point of the rollout, so no order is needed: a join costs one round, not one per hop.
  const rerouted = new Set<string>()
  for (const [v, want] of desired) {
    const have = installed.get(v)
    if (have === undefined) continue
    for (const [d, e] of want) {
      const h = have.get(d)
      if (h !== undefined && h.nextHop !== e.nextHop) rerouted.add(d)
    }
  }
  const memo = new Map<string, number>()
  const roundOf = (u: string, d: string): number => {
    if (!rerouted.has(d)) return 1
    const key = `${u}>${d}`
    const known = memo.get(key)
    if (known !== undefined) return known
    // Routes come from shortest-path trees and never loop; if `nextHop` did, the walk and the
    // recursion still end (the placeholder, and the step bound).
    memo.set(key, 1)
    let r = 1
    // The first relay below u whose next hop changes: its round already covers everything below it.
    for (let v = nextHop(u, d), steps = 0; v !== undefined && v !== d && steps < MAX_PATH_HOPS; v = nextHop(v, d), steps++) {
      if (moves(v, d)) { r = 1 + roundOf(v, d); below.set(key, v); break }
    }
    memo.set(key, r)
    return r
  }
  for (const [u, want] of desired) {
    const have = installed.get(u)
    for (const [d, e] of want) {
      const h = have?.get(d)
      if (h !== undefined && h.nextHop === e.nextHop && h.backup === e.backup) continue
      const round = roundOf(u, d)
      part(round, u).upserts[d] = routeToWire(e)
      // Set only for entries after round 1.
      const v = below.get(`${u}>${d}`)
      if (v === undefined) continue
      const { waitsFor } = roundAt(round)
      let set = waitsFor.get(u)
      if (set === undefined) { set = new Set(); waitsFor.set(u, set) }
      set.add(v)
    }
    if (have === undefined) continue
    for (const d of have.keys()) if (!want.has(d)) part(0, u).removals.push(d)
  }
  return [...rounds.entries()].sort((a, b) => a[0] - b[0]).map(([round, { parts, waitsFor }]) => ({ round, parts, waitsFor }))
}

/**
 * Adds to `table` (a relay's routes over the graph) the entries it has installed toward relays the
 * graph does not hold (`known` false), so that they are kept rather than withdrawn. A controller
 * that restarted on an empty store has not yet heard from relays still reconnecting: they are
 * unknown, not unreachable, and withdrawing every route to them blackholed their traffic until
 * they were back (4 s in the 1,000-relay model run). A relay that is known but down is still
 * unreachable, and its routes go.
 */
export function keepUnknown (table: Map<string, DesiredEntry>, installed: ReadonlyMap<string, DesiredEntry>, known: (id: string) => boolean): Map<string, DesiredEntry> {
  for (const [d, e] of installed) if (!table.has(d) && !known(d)) table.set(d, e)
  return table
}

/** Applies one round part to a table, in place. */
export function applyPart (table: Map<string, DesiredEntry>, p: RoundPart): void {
  for (const d of p.removals) table.delete(d)
  for (const [d, e] of Object.entries(p.upserts)) table.set(d, routeFromWire(e))
}
