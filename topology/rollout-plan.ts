import type { TableEntry } from '../src/control/messages.js'
import { routeFromWire, routeToWire, type TableRoute } from '../src/control/table-codec.js'

/** One relay's part of one round. */
export interface RoundPart {
  upserts: Record<string, TableEntry>
  removals: string[]
}

/** Round r → relay id → what that relay changes in round r. Rounds are sparse and ascending. */
export type RolloutPlan = Array<{ round: number, parts: Map<string, RoundPart> }>

export type DesiredEntry = TableRoute

/**
 * Orders a table change so that no forwarding loop forms while relays apply it.
 *
 * An entry (u → d) whose new path has h hops goes out in round h, and round h starts only after
 * every relay in round h−1 has acknowledged. So when u switches to its new next hop n, n (one hop
 * closer on the new tree, hence an earlier round) already forwards on its new route, and so does
 * everyone after it down to d. Following next hops from any relay then either stays on old,
 * loop-free routes, or joins the new tree and descends it: no cycle can close. Removals (d became
 * unreachable) go in round 0: dropping never loops.
 *
 * `hops(u, d)` is the hop count of u's new path to d. Pure: the caller sends and waits.
 */
export function planRollout (
  installed: ReadonlyMap<string, ReadonlyMap<string, DesiredEntry>>,
  desired: ReadonlyMap<string, ReadonlyMap<string, DesiredEntry>>,
  hops: (u: string, d: string) => number
): RolloutPlan {
  const rounds = new Map<number, Map<string, RoundPart>>()
  const part = (round: number, relay: string): RoundPart => {
    let parts = rounds.get(round)
    if (parts === undefined) { parts = new Map(); rounds.set(round, parts) }
    let p = parts.get(relay)
    if (p === undefined) { p = { upserts: {}, removals: [] }; parts.set(relay, p) }
    return p
  }
  for (const [u, want] of desired) {
    const have = installed.get(u)
    for (const [d, e] of want) {
      const h = have?.get(d)
      if (h !== undefined && h.nextHop === e.nextHop && h.backup === e.backup) continue
      part(Math.max(1, hops(u, d)), u).upserts[d] = routeToWire(e)
    }
    if (have === undefined) continue
    for (const d of have.keys()) if (!want.has(d)) part(0, u).removals.push(d)
  }
  return [...rounds.entries()].sort((a, b) => a[0] - b[0]).map(([round, parts]) => ({ round, parts }))
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
