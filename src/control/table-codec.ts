import type { TableEntry } from './messages.js'

/**
 * The one conversion of forwarding-table entries between the wire (`next_hop`, `backup`: the
 * control messages of messages.ts and the relay's state file) and memory (`nextHop`, `backup`).
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
