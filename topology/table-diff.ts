import type { RouteEntry } from './mesh-graph.js'

/** What a relay must change in its forwarding table to reach version `version`. */
export interface TableDiff {
  version: number
  /** True when `upserts` is the whole table (the relay drops entries not listed). */
  full: boolean
  upserts: Record<string, { next_hop: string, backup: string | null }>
  removals: string[]
}

/**
 * The diff from `prev` (what the relay has) to `next`. Costs are not sent: relays forward by next
 * hop only, so a cost change alone produces no diff.
 */
export function diffTables (prev: Map<string, RouteEntry> | undefined, next: Map<string, RouteEntry>, version: number): TableDiff | undefined {
  const upserts: TableDiff['upserts'] = {}
  const removals: string[] = []
  let changed = prev === undefined
  for (const [dst, e] of next) {
    const p = prev?.get(dst)
    if (p === undefined || p.nextHop !== e.nextHop || p.backup !== e.backup || prev === undefined) {
      upserts[dst] = { next_hop: e.nextHop, backup: e.backup }
      changed = true
    }
  }
  if (prev !== undefined) {
    for (const dst of prev.keys()) if (!next.has(dst)) { removals.push(dst); changed = true }
  }
  if (!changed) return undefined
  return { version, full: prev === undefined, upserts, removals }
}

/** Applies a diff to a table the relay holds; returns the new table. */
export function applyDiff (table: Map<string, { nextHop: string, backup: string | null }>, diff: TableDiff): Map<string, { nextHop: string, backup: string | null }> {
  const out = diff.full ? new Map() : new Map(table)
  for (const dst of diff.removals) out.delete(dst)
  for (const [dst, e] of Object.entries(diff.upserts)) out.set(dst, { nextHop: e.next_hop, backup: e.backup })
  return out
}
