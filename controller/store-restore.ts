import type { Store } from '../src/store/index.js'
import { loadStoredState } from '../src/store/records.js'
import { reportedMetrics } from '../topology/loss-memory.js'
import type { MeshGraph } from '../topology/mesh-graph.js'
import type { Sessions } from './sessions.js'

/** A value the store held that failed validation, and was skipped. */
export interface CorruptValue { key: string, field: string, reason: string }

/**
 * Recovers into `sessions` and `graph` the registry and link state a previous leader left in the
 * store, without overwriting what this instance already knows; returns the table version it held.
 * Whatever is corrupt is skipped and handed to `onCorrupt`: relays re-register and report within a
 * second anyway.
 */
export async function restoreFromStore (
  store: Store, into: { sessions: Sessions, graph: MeshGraph, nowMono: number }, onCorrupt: (v: CorruptValue) => void
): Promise<{ relays: number, links: number, version: number }> {
  const { sessions, graph } = into
  const { relays, links, version, skipped } = await loadStoredState(store)
  for (const v of skipped) onCorrupt(v)
  for (const r of relays.values()) {
    sessions.restore(r.id, r.address, r.caps ?? [], into.nowMono)
    if (!graph.hasRelay(r.id)) {
      graph.upsertRelay(r.id, r.address)
      graph.setRelayUp(r.id, sessions.get(r.id)?.channel !== undefined)
    }
  }
  for (const [relay, list] of links) {
    for (const l of list) {
      if (graph.hasLink(relay, l.peer)) continue
      graph.updateLink(relay, l.peer, reportedMetrics(l))
    }
  }
  return { relays: relays.size, links: links.size, version }
}
