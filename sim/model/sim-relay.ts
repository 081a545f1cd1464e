import type { TableEntry } from '../../src/control/messages.js'
import type { Logger } from '../../src/logging.js'
import { ForwardingTable, type IdRoute } from '../../relay/forwarding-table.js'
import type { Route } from '../../relay/types.js'
import type { LinkStatus } from '../../prober/prober.js'
import { ReportCheck, type LinkReport } from '../../prober/reporter.js'
import type { ProbeEngine } from './probe-engine.js'
import type { VirtualClock } from './virtual-clock.js'

const NONE = -1

/** The mesh as every relay sees it: ids, the index of each id, and relay numbers. */
export interface MeshIndex {
  ids: readonly string[]
  index: ReadonlyMap<string, number>
  /** Relay number (the header's 32-bit id) → index. */
  byNumber: ReadonlyMap<number, number>
  /** A relay's mesh address; made up, since nothing is sent to it, but in the form relays parse. */
  address: (i: number) => string
}

export interface RelayHooks {
  /** A link report left the relay. */
  report: (relay: number, report: LinkReport) => void
  /** The relay's forwarding toward some watched destination may have changed. */
  routesChanged: (relay: number) => void
}

/**
 * One relay: its forwarding state on the real ForwardingTable (relay/forwarding-table.ts, local
 * fast reroute included), its neighbour set, and its link reports on the real Reporter's check (ReportCheck). The
 * probe engine holds its link monitors.
 *
 * The ForwardingTable holds only the entries for *watched* destinations, those some flow sends to.
 * Its entries are independent per destination (next hop, backup, links down), so this changes no
 * forwarding decision of any simulated packet, and keeps each rebuild (one per table round and per
 * link going down) at the size of the flow set rather than 1,000 entries. The full table the
 * controller installed is kept beside it in typed arrays, for the register message.
 *
 * A restart is a new process with a state file, as process mode runs relays: a new boot epoch and
 * new monitors (every link starts down), forwarding at once on the tables and neighbours it had
 * when it stopped (the real relay saves them within 200 ms of each change; here, exactly).
 */
export class SimRelay {
  readonly index: number
  readonly id: string
  alive = false
  /** Boot epoch, carried in echoes; a new one per start. */
  epoch = 0
  /** Watched destination → next hop index, as the data plane forwards now. */
  readonly nextHop = new Map<number, number>()
  /** The full table: next hop and backup per destination index, NONE when absent. */
  readonly tableNext: Int32Array
  readonly tableBackup: Int32Array
  private readonly clock: VirtualClock
  private readonly logger: Logger
  private readonly mesh: MeshIndex
  private readonly probes: ProbeEngine
  private readonly hooks: RelayHooks
  private readonly watched: ReadonlySet<number>
  private forwarding: ForwardingTable
  private reports: ReportCheck
  /** Every link estimated now, for a report that goes out; made once, so a check allocates nothing. */
  private readonly allLinks: () => LinkStatus[]
  /** What the state file holds while the relay is down. */
  private saved: { version: number, neighbours: number[] } | undefined

  constructor (components: { clock: VirtualClock, logger: Logger, probes: ProbeEngine, hooks: RelayHooks }, init: { index: number, mesh: MeshIndex, watched: ReadonlySet<number> }) {
    this.clock = components.clock
    this.logger = components.logger
    this.probes = components.probes
    this.hooks = components.hooks
    this.mesh = init.mesh
    this.index = init.index
    this.id = init.mesh.ids[init.index]
    this.watched = init.watched
    this.tableNext = new Int32Array(init.mesh.ids.length).fill(NONE)
    this.tableBackup = new Int32Array(init.mesh.ids.length).fill(NONE)
    this.forwarding = this.newForwarding()
    this.reports = new ReportCheck(this.id)
    this.allLinks = () => this.probes.statuses(this.index)
  }

  start (): void {
    this.alive = true
    this.epoch++
    this.forwarding = this.newForwarding()
    this.reports = new ReportCheck(this.id)
    const saved = this.saved
    this.saved = undefined
    if (saved !== undefined) {
      this.setNeighbours(saved.neighbours)
      const table = new Map<string, IdRoute>()
      for (const d of this.watched) {
        const nh = this.tableNext[d]
        const b = this.tableBackup[d]
        if (nh !== NONE) table.set(this.mesh.ids[d], { nextHop: this.mesh.ids[nh], backup: b === NONE ? null : this.mesh.ids[b] })
      }
      this.forwarding.replace(table, saved.version)
    }
    this.hooks.routesChanged(this.index)
  }

  stop (): void {
    // The full table stays in tableNext / tableBackup: that is the state file's table.
    this.saved = { version: this.forwarding.version, neighbours: [...this.probes.peers(this.index)] }
    this.alive = false
    this.probes.removeAll(this.index)
    this.nextHop.clear()
    this.hooks.routesChanged(this.index)
  }

  /** A neighbours message: probe exactly these relays, and resolve next hops among them. */
  setNeighbours (peers: readonly number[]): void {
    if (!this.alive) return
    const keep = new Set(peers)
    for (const p of [...this.probes.peers(this.index)]) if (!keep.has(p)) this.probes.remove(this.index, p)
    for (const p of peers) this.probes.add(this.index, p)
    this.forwarding.setNeighbours(peers.map((p) => ({ id: this.mesh.ids[p], address: this.mesh.address(p) })))
  }

  /** One round of a table update, as the control client hands it to the forwarding table. */
  applyTable (version: number, upserts: Record<string, TableEntry>, removals: readonly string[]): void {
    if (!this.alive) return
    const { index } = this.mesh
    const up: Record<string, TableEntry> = {}
    const rm: string[] = []
    for (const d of removals) {
      const i = index.get(d) as number
      this.tableNext[i] = NONE
      this.tableBackup[i] = NONE
      if (this.watched.has(i)) rm.push(d)
    }
    for (const d in upserts) {
      const i = index.get(d) as number
      const e = upserts[d]
      this.tableNext[i] = index.get(e.next_hop) as number
      this.tableBackup[i] = e.backup === null ? NONE : index.get(e.backup) as number
      if (this.watched.has(i)) up[d] = e
    }
    if (rm.length > 0 || Object.keys(up).length > 0) this.forwarding.update(up, rm, version)
  }

  /** The prober's linkup / linkdown: local fast reroute. */
  linkChange (peer: number, up: boolean): void {
    if (!this.alive) return
    if (up) this.forwarding.linkUp(this.mesh.ids[peer])
    else this.forwarding.linkDown(this.mesh.ids[peer])
  }

  /**
   * The Reporter's periodic check, the real one (ReportCheck). The decision looks at the links
   * that changed since the last check (probe-engine.ts `changed` says why that is the whole
   * answer); the report itself carries every link estimated now, as the real relay's.
   */
  checkReport (): void {
    if (!this.alive) return
    const now = this.clock.now
    // A scheduled report may go out: links the probe engine runs in batches must be current.
    if (this.reports.scheduleDue(now)) this.probes.settle(this.index)
    const report = this.reports.check(now, this.probes.changed(this.index), this.allLinks)
    if (report !== undefined) this.hooks.report(this.index, report)
  }

  private newForwarding (): ForwardingTable {
    return new ForwardingTable({ logger: this.logger }, (routes) => { this.onRoutes(routes) })
  }

  private onRoutes (routes: Route[]): void {
    this.nextHop.clear()
    for (const r of routes) this.nextHop.set(this.mesh.byNumber.get(r.dst) as number, this.mesh.index.get(r.nextHop.id) as number)
    this.hooks.routesChanged(this.index)
  }
}
