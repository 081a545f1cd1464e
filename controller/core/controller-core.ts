import { performance } from 'node:perf_hooks'
import type { ControlLinkReport, TableEntry } from '../../src/control/messages.js'
import { tableFromWire } from '../../src/control/table-codec.js'
import { Keys } from '../../src/store/keys.js'
import { reportedMetrics } from '../../topology/loss-memory.js'
import { MeshGraph } from '../../topology/mesh-graph.js'
import { planRollout, type DesiredEntry } from '../../topology/rollout-plan.js'
import { changedEntries, InstalledTables, RelayIndex } from '../../topology/route-diff.js'
import { COMPUTE_DELAY_MS, NEIGHBOUR_BATCH_MS, NEIGHBOUR_REFRESH_MS } from '../constants.js'
import { CommandSink } from './commands.js'
import { Expiry } from './expiry.js'
import { NeighbourPlanner } from './neighbour-planning.js'
import { Registry, type RelayRecord } from './registry.js'
import { ReportIntake } from './report-intake.js'
import { computeSpacingFor, RouteScheduler } from './route-scheduling.js'
import { Rollout } from './rollout.js'
import { Settling } from './settling.js'
import type { CoreCommand, CoreEvent, CoreOptions, CoreStats, RegisteredTable, Role, TimerName } from './types.js'

/**
 * The path controller's rules, sans I/O: the registry of relays, link reports into the mesh graph,
 * neighbour planning, route scheduling, loop-free rollouts, settling, expiry, and leadership as the
 * shell reports it. It takes events (types.ts), each with the shell's monotonic clock reading, and
 * returns the commands they lead to, in order; it reads no clock of its own (one reading per event,
 * however long handling it takes), starts no timer and awaits nothing, so the same events at the
 * same times give the same commands.
 *
 * The daemon (controller/controller.ts) drives it over QUIC and the store; model mode
 * (sim/model/sim-controller.ts) over its virtual clock and control-plane model.
 */
export class ControllerCore {
  readonly graph: MeshGraph
  readonly index: RelayIndex
  readonly installed: InstalledTables
  readonly registry = new Registry()
  readonly stats: CoreStats = { computations: 0, versions: 0, expired: 0, computeWallMs: 0, lastComputeWallMs: 0 }
  readonly intake: ReportIntake
  /** The clock reading of the event being handled, as the parts read it. */
  private now = 0
  private readonly clock = { monoMs: (): number => this.now }
  private readonly opts: CoreOptions
  private readonly out = new CommandSink()
  private readonly neighbours: NeighbourPlanner
  private readonly scheduler: RouteScheduler
  private readonly rollout = new Rollout()
  private readonly settling = new Settling()
  private readonly expiry: Expiry
  private running = false
  private leader = false
  private fence = 0
  private pushArmed = false
  /** The plan waiting for its version (reserve-version). */
  private planned: ReturnType<typeof planRollout> | undefined
  /** Tables were computed since this instance last became leader (ready). */
  computedAsLeader = false
  /** The latest table version. */
  version = 0

  constructor (opts: CoreOptions) {
    this.opts = opts
    this.graph = new MeshGraph(opts.costPolicy)
    this.index = new RelayIndex(opts.ids)
    this.installed = new InstalledTables(this.index)
    this.expiry = new Expiry(opts.relayExpiryMs)
    this.neighbours = new NeighbourPlanner(opts.neighbourPolicy)
    this.scheduler = new RouteScheduler(this.out, this.clock, () => this.spacingMs())
    // A link outside the selection (one still probed until routes leave it, or a report sent
    // before the relay had its new set) must not come back into the graph.
    this.intake = new ReportIntake(this.graph, this.clock, {
      accepts: (relay, peer) => this.registry.has(peer) && (this.settling.active || this.neighbours.selected(relay, peer)),
      rebuildMinChanges: opts.rebuildMinChanges
    })
  }

  get isLeader (): boolean { return this.leader }
  get role (): Role { return this.leader ? 'leader' : 'standby' }
  /** The version being rolled out, while one is. */
  get rolling (): number | undefined { return this.rollout.version }

  /** Each relay's table as last sent. */
  installedTables (): Map<string, Map<string, DesiredEntry>> {
    return new Map([...this.registry.all()].map((s) => [s.id, this.installed.table(s.index)]))
  }

  /** Handles one event that happened at `now` (monotonic ms); returns the commands it leads to, in order. */
  handle (ev: CoreEvent, now: number): CoreCommand[] {
    this.now = now
    switch (ev.type) {
      case 'start': this.onStart(); break
      case 'stop': this.onStop(); break
      case 'register': this.onRegister(ev); break
      case 'report': this.onReport(ev.relay, ev.report); break
      case 'ack':
      case 'undelivered':
        if (this.rollout.acked(ev.relay, ev.version, ev.round)) this.nextRound()
        break
      case 'disconnect': this.onDisconnect(ev.conn, ev.reason, ev.initiator); break
      case 'revoke': this.onRevoke(ev.relays); break
      case 'elected': this.leader = true; this.fence = ev.fence; this.computedAsLeader = false; break
      case 'restored': this.onRestored(ev.state); break
      case 'deposed': this.onDeposed(); break
      case 'version': this.onVersion(ev.value); break
      case 'timer': this.onTimer(ev.timer); break
    }
    return this.out.take()
  }

  private spacingMs (): number {
    const s = this.opts.computeSpacingMs
    return s === 'auto' ? computeSpacingFor(this.registry.size) : s
  }

  private onStart (): void {
    this.running = true
    this.out.setTimer('refresh', NEIGHBOUR_REFRESH_MS, true)
    this.out.setTimer('expiry', this.expiry.sweepMs, true)
  }

  private onStop (): void {
    if (!this.running) return
    this.running = false
    this.rollout.stop()
    this.scheduler.reset()
    for (const t of ['refresh', 'expiry', 'push', 'settle', 'round'] as const) this.out.clearTimer(t)
    this.out.log('info', { version: this.version }, 'controller stopped')
  }

  private onTimer (timer: TimerName): void {
    if (!this.running) return
    switch (timer) {
      case 'refresh': if (this.leader && !this.settling.active) this.pushNeighbours(true); return
      case 'expiry': this.expireOffline(); return
      case 'settle': this.endSettling(); return
      case 'push':
        this.pushArmed = false
        if (!this.leader) return
        if (this.settling.active) { this.checkSettled(); return }
        this.pushNeighbours(false)
        this.scheduleCompute()
        return
      case 'compute': if (this.scheduler.fired()) this.compute(); return
      case 'round': this.rollout.timedOut(this.out, this.clock.monoMs()); this.nextRound()
    }
  }

  // Relays.

  private onRegister (ev: CoreEvent & { type: 'register' }): void {
    if (!this.running) return
    const verdict = this.registry.admit(ev.conn, { id: ev.relay, address: ev.address, boot: ev.boot })
    if (!verdict.ok) { this.out.push({ type: 'refuse', conn: ev.conn, metric: 'duplicate', reason: verdict.reason }); return }
    if (verdict.replaced !== undefined) this.out.push({ type: 'replace', conn: verdict.replaced, reason: 'replaced by a newer connection from the same relay' })
    const s = this.registry.register(ev.conn, this.index.of(ev.relay), { id: ev.relay, address: ev.address, boot: ev.boot, caps: ev.caps, tableVersion: ev.tableVersion })
    const routes = this.setInstalled(s.index, ev.table)
    this.expiry.back(s.id)
    this.graph.upsertRelay(s.id, s.address)
    this.out.log('info', { relayId: s.id, address: s.address, tableVersion: s.version, routes }, 'relay registered')
    this.out.push({ type: 'welcome', relay: s.id, role: this.role, controller: this.opts.instanceId, fence: this.fence })
    this.out.push({ type: 'hset', key: Keys.relays, field: s.id, value: { id: s.id, address: s.address, caps: s.caps, registeredAt: ev.wallMs } })
    if (!this.leader) return
    // Registrations within NEIGHBOUR_BATCH_MS share one neighbour selection, then a computation.
    // Beyond the full-mesh size a selection costs O(n² log n); a thousand relays reconnecting to a
    // restarted controller would otherwise run it a thousand times within a second or two.
    if (this.pushArmed) return
    this.pushArmed = true
    this.out.setTimer('push', NEIGHBOUR_BATCH_MS)
  }

  /** Records the table a register message says the relay forwards on; returns its size. */
  private setInstalled (u: number, table: RegisteredTable): number {
    if ('next' in table && table.next instanceof Int32Array) {
      const t = table as { next: Int32Array, backup: Int32Array }
      this.installed.setRow(u, t.next, t.backup)
      let n = 0
      for (const x of t.next) if (x >= 0) n++
      return n
    }
    const routes = tableFromWire(table as Record<string, TableEntry>)
    this.installed.setTable(u, [...routes])
    return routes.size
  }

  private onDisconnect (conn: number, reason: string, initiator: string): void {
    const s = this.registry.disconnect(conn, this.clock.monoMs())
    if (s === undefined) return
    this.graph.setRelayUp(s.id, false)
    this.out.log('info', { relayId: s.id, reason, initiator }, 'relay disconnected')
  }

  private onReport (relay: string, r: ControlLinkReport): void {
    const s = this.registry.get(relay)
    if (!this.running || s?.conn === undefined) return
    // The first report makes the relay eligible for tables: compute even if no cost moved.
    const first = !s.reported
    s.reported = true
    let changed = first
    let urgent = false
    if (this.spacingMs() === 0) {
      if (this.intake.take(r)) changed = true
    } else {
      // Spaced computations: reports that change something wait for the next one, except that a
      // link going down moves its routes at once (spacing is for batching links that come up).
      const verdict = this.intake.holds(relay) ? 'change' : this.intake.classify(r)
      if (verdict === 'none') {
        if (this.intake.take(r)) changed = true
      } else {
        this.intake.hold(r)
        changed = true
        urgent = verdict === 'down'
      }
    }
    if (this.settling.active) {
      this.settling.note(relay)
      this.checkSettled()
    }
    if (!this.leader) return
    this.out.push({ type: 'hset', key: Keys.links, field: relay, value: r.links })
    if (urgent) this.scheduleCompute(0, true)
    else if (changed) this.scheduleCompute(r.trigger === 'schedule' ? COMPUTE_DELAY_MS : 0)
  }

  /**
   * Forgets relays disconnected for the expiry: the registry entry, the graph node with its links
   * (so its routes go), and, on the leader, what the store holds of it.
   */
  private expireOffline (): void {
    const gone = this.expiry.sweep(this.registry, this.clock.monoMs())
    if (gone.length === 0) return
    for (const s of gone) this.forget(s)
    this.stats.expired += gone.length
    this.out.log('info', { relays: gone.map((s) => s.id), offlineMs: this.expiry.expiryMs }, 'relays disconnected past the expiry forgotten')
    if (!this.leader || this.settling.active) return
    this.pushNeighbours(false)
    this.scheduleCompute()
  }

  /** Revoked relays are forgotten at once, and routes move off them without waiting for the spacing. */
  private onRevoke (ids: string[]): void {
    const gone: RelayRecord[] = []
    for (const id of ids) {
      const s = this.registry.forget(id)
      if (s !== undefined) gone.push(s)
    }
    if (gone.length === 0) return
    this.expiry.forgotten(gone.map((s) => s.id))
    for (const s of gone) this.forget(s)
    this.out.log('warn', { relays: gone.map((s) => s.id) }, 'relays revoked: forgotten, and their routes withdrawn')
    if (!this.running || !this.leader || this.settling.active) return
    this.pushNeighbours(false)
    this.scheduleCompute(0, true)
  }

  /** Takes a relay out of the graph, the neighbour sets, the installed tables and (as leader) the store. */
  private forget (s: RelayRecord): void {
    this.graph.removeRelay(s.id)
    this.neighbours.forget(s.id)
    this.installed.clearRow(s.index)
    if (this.leader) for (const key of [Keys.relays, Keys.links, Keys.tableVersions]) this.out.push({ type: 'hdel', key, field: s.id })
  }

  // Leadership.

  /** After the election: what the store held is in, so lead: settle or select and compute. */
  private onRestored (state: (CoreEvent & { type: 'restored' })['state']): void {
    if (state !== undefined) {
      const now = this.clock.monoMs()
      for (const r of state.relays.values()) {
        const known = this.registry.has(r.id)
        this.registry.restore(r.id, this.index.of(r.id), r.address, r.caps ?? [], now)
        if (!known) {
          this.graph.upsertRelay(r.id, r.address)
          this.graph.setRelayUp(r.id, false)
        }
      }
      for (const [relay, list] of state.links) {
        for (const l of list) if (!this.graph.hasLink(relay, l.peer)) this.graph.updateLink(relay, l.peer, reportedMetrics(l))
      }
      this.version = Math.max(this.version, state.version)
      this.out.log('info', { relays: state.relays.size, links: state.links.size, version: this.version }, 'state loaded from the store')
    }
    // Deposed or stopped while loading: announcing leadership now would mislead every relay.
    if (!this.leader || !this.running) return
    for (const s of this.registry.live()) this.out.push({ type: 'role', relay: s.id, role: 'leader', fence: this.fence })
    if (this.graph.linkCount === 0) {
      this.settling.begin(this.out)
      this.checkSettled()
      return
    }
    this.pushNeighbours(true)
    this.scheduleCompute()
  }

  private onDeposed (): void {
    this.leader = false
    this.fence = 0
    if (this.rollout.active) { this.rollout.stop(); this.out.clearTimer('round') }
    this.planned = undefined
    this.scheduler.done()
    for (const s of this.registry.live()) this.out.push({ type: 'role', relay: s.id, role: 'standby', fence: 0 })
  }

  private checkSettled (): void {
    if (this.settling.settled(this.registry)) this.endSettling()
  }

  private endSettling (): void {
    // Reports held for a spaced computation were sent while settling: they are taken in as such.
    this.intake.flush()
    if (!this.settling.end(this.out)) return
    this.out.log('info', { relays: this.registry.liveCount, links: this.graph.linkCount }, 'settled: selecting neighbours and computing routes')
    if (!this.leader || !this.running) return
    this.pushNeighbours(false)
    this.scheduleCompute()
  }

  // Neighbours.

  /** Recomputes who probes whom and tells relays whose set changed (all of them when `refresh`). */
  private pushNeighbours (refresh: boolean): void {
    // Held reports came in before this push.
    this.intake.flush()
    // Links between relays that are no longer neighbours would keep stale figures: they go, and
    // routes are recomputed to move off them before the relays stop probing them (planNeighbours).
    if (this.neighbours.select(this.graph, this.installed, refresh)) this.scheduleCompute()
    this.neighbours.send(this.out, this.registry, this.installed, this.fence)
  }

  // Routes.

  private scheduleCompute (delayMs = COMPUTE_DELAY_MS, unspaced = false): void {
    if (!this.running || this.settling.active) return
    this.scheduler.schedule(delayMs, unspaced)
  }

  private compute (): void {
    if (!this.leader || !this.running) { this.scheduler.done(); return }
    this.intake.flush()
    const t0 = performance.now()
    // A relay that has not reported to this controller yet may have links the graph lacks, which
    // would make routes it has look unreachable: it waits for its first report (at most 1 s).
    const live: number[] = []
    for (const s of this.registry.all()) if (s.conn !== undefined && s.reported) live.push(s.index)
    const ids = this.index.ids
    const changes = changedEntries(this.graph, live, this.installed, (d) => this.expiry.withdrawn(ids[d]))
    const plan = changes.entries === 0 ? [] : planRollout(changes.installed, changes.desired, (u, d) => this.graph.nextHop(u, d))
    if (live.length > 0) this.computedAsLeader = true
    this.stats.computations++
    this.stats.lastComputeWallMs = performance.now() - t0
    this.stats.computeWallMs += this.stats.lastComputeWallMs
    if (plan.length === 0) { this.computed(); return }
    this.planned = plan
    this.out.push({ type: 'reserve-version' })
  }

  private onVersion (value: number): void {
    const plan = this.planned
    this.planned = undefined
    if (value < 0) {
      this.out.log('warn', {}, 'route computation failed: no table version from the store')
      if (plan !== undefined) this.computed()
      return
    }
    this.version = Math.max(this.version + 1, value)
    if (plan === undefined || !this.leader || !this.running) return
    this.stats.versions++
    this.rollout.start(this.version, plan, this.clock.monoMs())
    this.nextRound()
  }

  private nextRound (): void {
    if (!this.rollout.active) return
    if (!this.rollout.next(this.out, { registry: this.registry, installed: this.installed, fence: this.fence, now: this.clock.monoMs() })) return
    // Links kept only for routes that have now moved can be let go.
    if (this.neighbours.linger && this.leader) this.neighbours.send(this.out, this.registry, this.installed, this.fence)
    this.computed()
  }

  private computed (): void {
    const again = this.scheduler.done()
    if (again !== 'idle') this.scheduleCompute(0, again === 'unspaced')
  }
}
