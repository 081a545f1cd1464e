import type { DesiredEntry } from '../../controller/rollout-plan.js'
import type { MeshGraph } from '../../topology/mesh-graph.js'

const NONE = -1

/** What the controller has sent each relay: next hop and backup by [relay * n + destination]. */
export class InstalledTables {
  readonly n: number
  readonly next: Int32Array
  readonly backup: Int32Array

  constructor (n: number) {
    this.n = n
    this.next = new Int32Array(n * n).fill(NONE)
    this.backup = new Int32Array(n * n).fill(NONE)
  }

  /** Replaces one relay's row: what its register message says it forwards on. */
  setRow (relay: number, next: Int32Array, backup: Int32Array): void {
    this.next.set(next, relay * this.n)
    this.backup.set(backup, relay * this.n)
  }
}

/** The two sides of a change, in the shape controller/rollout-plan.ts planRollout takes. */
export interface TableChanges {
  installed: Map<string, Map<string, DesiredEntry>>
  desired: Map<string, Map<string, DesiredEntry>>
  entries: number
}

/**
 * The entries where the graph's routes differ from what `relays` were sent, read straight from
 * the route engine's arrays.
 *
 * The real controller builds every relay's whole table with MeshGraph.tableFor and hands all of
 * them to planRollout, which skips the entries that did not change. At 1,000 relays that is a
 * million map entries per computation, nearly all unchanged. planRollout treats each (relay,
 * destination) on its own, so giving it only the changed entries (the relay's current entry, if
 * any, and the wanted one, if any) yields the same plan. Every relay with a change appears in
 * `desired`, with an empty map when all it has are removals, which planRollout finds by walking
 * what is installed.
 *
 * `ids` are all relays by index (`index` the reverse). A relay the graph does not hold has no
 * routes, as tableFor would give; entries toward a destination it does not hold are kept, as the
 * controller's keepUnknown keeps them.
 */
export function changedEntries (graph: MeshGraph, ids: readonly string[], index: ReadonlyMap<string, number>, relays: Iterable<number>, installed: InstalledTables): TableChanges {
  const engine = graph.routes()
  // The engine numbers relays in sorted id order (mesh-graph.ts), which relayIds() also returns.
  const sorted = graph.relayIds()
  const m = sorted.length
  const toGlobal = new Int32Array(m)
  const toEngine = new Int32Array(ids.length).fill(NONE)
  sorted.forEach((id, e) => { const g = index.get(id) as number; toGlobal[e] = g; toEngine[g] = e })
  const { next, backup } = engine
  const n = ids.length
  const out: TableChanges = { installed: new Map(), desired: new Map(), entries: 0 }
  for (const u of relays) {
    const eu = toEngine[u]
    let have: Map<string, DesiredEntry> | undefined
    let want: Map<string, DesiredEntry> | undefined
    for (let d = 0; d < n; d++) {
      if (d === u) continue
      const ed = toEngine[d]
      // A destination the graph does not hold is unknown, not unreachable: what is installed stays
      // (controller/rollout-plan.ts keepUnknown).
      if (ed < 0) continue
      let wantNext = NONE
      let wantBackup = NONE
      if (eu >= 0 && ed >= 0) {
        const nh = next[ed * m + eu]
        if (nh >= 0) {
          wantNext = toGlobal[nh]
          const b = backup[ed * m + eu]
          wantBackup = b < 0 ? NONE : toGlobal[b]
        }
      }
      const haveNext = installed.next[u * n + d]
      const haveBackup = installed.backup[u * n + d]
      if (wantNext === haveNext && (wantNext === NONE || wantBackup === haveBackup)) continue
      if (want === undefined) { want = new Map(); have = new Map(); out.desired.set(ids[u], want); out.installed.set(ids[u], have) }
      if (wantNext !== NONE) want.set(ids[d], { nextHop: ids[wantNext], backup: wantBackup === NONE ? null : ids[wantBackup] })
      if (haveNext !== NONE) have?.set(ids[d], { nextHop: ids[haveNext], backup: haveBackup === NONE ? null : ids[haveBackup] })
      out.entries++
    }
  }
  return out
}
