import type { TableEntry } from './messages.js'

/**
 * The one conversion of forwarding-table entries between the wire (`next_hop`, `backup`: the
 * control messages of messages.ts and the relay's state file) and memory (`nextHop`, `backup`),
 * and of a table message's upserts between destination → entry and the grouped wire form.
 * Nothing else spells one form out of the other.
 */

/** One route by relay id, as relays and controllers hold it. */
export interface TableRoute {
  nextHop: string
  /** A loop-free alternate next hop, or null when there is none. */
  backup: string | null
}

export function routeFromWire (e: TableEntry): TableRoute {
  return { nextHop: e.next_hop, backup: e.backup }
}

export function routeToWire (r: TableRoute): TableEntry {
  return { next_hop: r.nextHop, backup: r.backup }
}

/** A wire table (destination id → entry) as a Map of routes. */
export function tableFromWire (t: Readonly<Record<string, TableEntry>>): Map<string, TableRoute> {
  const out = new Map<string, TableRoute>()
  for (const [dst, e] of Object.entries(t)) out.set(dst, routeFromWire(e))
  return out
}

/** Routes by destination as a wire table; extra fields of a route (a cost) are left out. */
export function tableToWire (t: Iterable<readonly [string, TableRoute]>): Record<string, TableEntry> {
  return Object.fromEntries(Array.from(t, ([dst, r]) => [dst, routeToWire(r)]))
}

/** A table message's upserts on the wire: [next_hop, backup, destinations] per pair of next hop and backup. */
export type WireUpserts = Array<[string, string | null, string[]]>

/**
 * Groups upserts by next hop and backup. A relay has a few dozen such pairs at most (its
 * neighbours, and a backup among them), so each destination costs its id and a comma instead of a
 * whole entry: a join's round to 1,000 relays carried about a fifth of the bytes.
 */
export function upsertsToWire (upserts: Readonly<Record<string, TableEntry>>): WireUpserts {
  const groups = new Map<string, [string, string | null, string[]]>()
  for (const dst in upserts) {
    const e = upserts[dst]
    // '/' cannot occur in a relay id (checkRelayId).
    const key = e.backup === null ? e.next_hop : `${e.next_hop}/${e.backup}`
    let g = groups.get(key)
    if (g === undefined) { g = [e.next_hop, e.backup, []]; groups.set(key, g) }
    g[2].push(dst)
  }
  return [...groups.values()]
}

/**
 * Destination → entry from the grouped wire form. A destination listed twice keeps its last
 * entry. The result is built with Object.fromEntries, so a destination named `__proto__` is an
 * entry like any other (and is then skipped as an invalid id), never the object's prototype.
 */
export function upsertsFromWire (groups: WireUpserts): Record<string, TableEntry> {
  const pairs: Array<[string, TableEntry]> = []
  for (const [nextHop, backup, dsts] of groups) for (const d of dsts) pairs.push([d, { next_hop: nextHop, backup }])
  return Object.fromEntries(pairs)
}
