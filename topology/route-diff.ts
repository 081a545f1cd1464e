import type { MeshGraph } from './mesh-graph.js'
import type { DesiredEntry, RoundPart } from './rollout-plan.js'

const NONE = -1

/**
 * Relay ids by number, in order of first sight. A number is never reused, so tables kept by
 * number stay valid while relays come and go.
 */
export class RelayIndex {
  readonly ids: string[] = []
  private readonly byId = new Map<string, number>()

  constructor (ids: Iterable<string> = []) { for (const id of ids) this.of(id) }

  get size (): number { return this.ids.length }
  get (id: string): number | undefined { return this.byId.get(id) }

  /** The number of `id`, assigning the next one when it is new. */
  of (id: string): number {
    let i = this.byId.get(id)
    if (i === undefined) { i = this.ids.length; this.ids.push(id); this.byId.set(id, i) }
    return i
  }
}

/**
 * What the controller has sent each relay: next hop and backup numbers (RelayIndex) per
 * destination number, one row per relay, NONE where there is no entry. Rows grow as the index does.
 */
export class InstalledTables {
  readonly index: RelayIndex
  private readonly nextRows: Int32Array[] = []
  private readonly backupRows: Int32Array[] = []

  constructor (index: RelayIndex) { this.index = index }

  /** Relay `u`'s next hop toward `d`, or NONE. */
  nextHop (u: number, d: number): number {
    const row = this.nextRows[u]
    return row === undefined || d >= row.length ? NONE : row[d]
  }

  backup (u: number, d: number): number {
    const row = this.backupRows[u]
    return row === undefined || d >= row.length ? NONE : row[d]
  }

  /** Relay `u`'s next hops by destination (may be shorter than the index: the rest are NONE). */
  nextRow (u: number): Int32Array { return this.nextRows[u] ?? EMPTY }
  /** Relay `u`'s backups by destination, as long as its nextRow. */
  backupRow (u: number): Int32Array { return this.backupRows[u] ?? EMPTY }

  /** Replaces one relay's row with `next` and `backup` by destination number. */
  setRow (u: number, next: Int32Array, backup: Int32Array): void {
    this.nextRows[u] = Int32Array.from(next)
    this.backupRows[u] = Int32Array.from(backup)
  }

  /** Replaces one relay's row with the entries of a table by destination id. */
  setTable (u: number, table: Iterable<[string, DesiredEntry]>): void {
    this.clearRow(u)
    for (const [d, e] of table) this.set(u, this.index.of(d), this.index.of(e.nextHop), e.backup === null ? NONE : this.index.of(e.backup))
  }

  clearRow (u: number): void {
    this.nextRows[u] = new Int32Array(0)
    this.backupRows[u] = new Int32Array(0)
  }

  /** Applies one round part to relay `u`'s row. */
  apply (u: number, part: RoundPart): void {
    for (const d of part.removals) this.set(u, this.index.of(d), NONE, NONE)
    for (const d in part.upserts) {
      const e = part.upserts[d]
      this.set(u, this.index.of(d), this.index.of(e.next_hop), e.backup === null ? NONE : this.index.of(e.backup))
    }
  }

  /** Relay `u`'s table by destination id. */
  table (u: number): Map<string, DesiredEntry> {
    const out = new Map<string, DesiredEntry>()
    const next = this.nextRow(u)
    const ids = this.index.ids
    for (let d = 0; d < next.length; d++) {
      if (next[d] < 0) continue
      const b = this.backup(u, d)
      out.set(ids[d], { nextHop: ids[next[d]], backup: b < 0 ? null : ids[b] })
    }
    return out
  }

  /** The distinct next hops relay `u`'s entries forward over. */
  hopsUsed (u: number): number[] {
    const next = this.nextRow(u)
    const out: number[] = []
    for (let d = 0; d < next.length; d++) {
      const h = next[d]
      if (h >= 0 && !out.includes(h)) out.push(h)
    }
    return out
  }

  /** Whether some entry of relay `u` forwards over `hop`. */
  usesHop (u: number, hop: number): boolean {
    const next = this.nextRow(u)
    for (let d = 0; d < next.length; d++) if (next[d] === hop) return true
    return false
  }

  private set (u: number, d: number, next: number, backup: number): void {
    const n = this.index.size
    let nr = this.nextRows[u]
    let br = this.backupRows[u]
    if (nr === undefined || d >= nr.length) {
      const size = Math.max(n, d + 1)
      const nn = new Int32Array(size).fill(NONE); if (nr !== undefined) nn.set(nr)
      const bb = new Int32Array(size).fill(NONE); if (br !== undefined) bb.set(br)
      this.nextRows[u] = nr = nn
      this.backupRows[u] = br = bb
    }
    nr[d] = next
    ;(br as Int32Array)[d] = backup
  }
}

const EMPTY = new Int32Array(0)

/** The two sides of a change, in the shape topology/rollout-plan.ts planRollout takes. */
export interface TableChanges {
  installed: Map<string, Map<string, DesiredEntry>>
  desired: Map<string, Map<string, DesiredEntry>>
  entries: number
}

/**
 * The entries where the graph's routes differ from what `relays` (numbers in `installed.index`)
 * were sent, read straight from the route engine's arrays.
 *
 * Building every relay's whole table (MeshGraph.tableFor) and handing them all to planRollout would
 * skip the unchanged entries anyway; at 1,000 relays that is a million map entries per
 * computation, nearly all unchanged. planRollout treats each (relay, destination) on its own, so
 * giving it only the changed entries (the relay's current entry, if any, and the wanted one, if
 * any) yields the same plan. Every relay with a change appears in `desired`, with an empty map
 * when all it has are removals, which planRollout finds by walking what is installed.
 *
 * A relay the graph does not hold has no routes, as tableFor would give. A destination the graph
 * does not hold is unknown, not unreachable (rollout-plan.ts keepUnknown): what is installed toward
 * it stays, unless `withdrawn(d)` says it is known to be gone (an expired relay).
 */
export function changedEntries (graph: MeshGraph, relays: Iterable<number>, installed: InstalledTables, withdrawn: (d: number) => boolean = () => false): TableChanges {
  const index = installed.index
  const ids = index.ids
  const engine = graph.routes()
  // The engine numbers relays in sorted id order (mesh-graph.ts), which routeIds() returns.
  const sorted = graph.routeIds()
  const m = sorted.length
  const toGlobal = Int32Array.from(sorted, (id) => index.of(id))
  const n = index.size
  const toEngine = new Int32Array(n).fill(NONE)
  toGlobal.forEach((g, e) => { toEngine[g] = e })
  const { next, backup } = engine
  const out: TableChanges = { installed: new Map(), desired: new Map(), entries: 0 }
  for (const u of relays) {
    const eu = toEngine[u]
    const haveNextRow = installed.nextRow(u)
    const haveBackupRow = installed.backupRow(u)
    let have: Map<string, DesiredEntry> | undefined
    let want: Map<string, DesiredEntry> | undefined
    for (let d = 0; d < n; d++) {
      if (d === u) continue
      const ed = toEngine[d]
      if (ed < 0 && !withdrawn(d)) continue
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
      const haveNext = d < haveNextRow.length ? haveNextRow[d] : NONE
      const haveBackup = haveNext === NONE ? NONE : haveBackupRow[d]
      if (wantNext === haveNext && (wantNext === NONE || wantBackup === haveBackup)) continue
      if (want === undefined) { want = new Map(); have = new Map(); out.desired.set(ids[u], want); out.installed.set(ids[u], have) }
      if (wantNext !== NONE) want.set(ids[d], { nextHop: ids[wantNext], backup: wantBackup === NONE ? null : ids[wantBackup] })
      if (haveNext !== NONE) have?.set(ids[d], { nextHop: ids[haveNext], backup: haveBackup === NONE ? null : ids[haveBackup] })
      out.entries++
    }
  }
  return out
}
