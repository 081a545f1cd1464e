import type { ControlLinkReport } from '../../src/control/messages.js'
import { REBUILD_MIN_CHANGES, RELAY_EXPIRY_MS } from '../../controller/constants.js'
import { ControllerCore } from '../../controller/core/controller-core.js'
import { CoreDriver } from '../../controller/core/driver.js'
import type { CoreCommand, CoreEvent, CoreStats } from '../../controller/core/types.js'
import type { MeshGraph } from '../../topology/mesh-graph.js'
import type { NeighbourPolicy } from '../../topology/neighbours.js'
import type { RoundPart } from '../../topology/rollout-plan.js'
import type { InstalledTables } from '../../topology/route-diff.js'
import type { MeshIndex } from './sim-relay.js'
import type { VirtualClock } from './virtual-clock.js'

/** How the controller reaches relays: the control channel model (control-plane.ts). */
export interface ControllerChannel {
  /** Sends a neighbours message; false when the relay's channel is closed. */
  neighbours: (relay: number, peers: number[]) => boolean
  /** Sends one round part; `ack` runs when the relay's ack arrives. False when not sent. */
  table: (relay: number, version: number, round: number, part: RoundPart, ack: () => void) => boolean
  /** A version's rollout ended: every round acknowledged or timed out, or the controller stopped. */
  versionDone: (version: number) => void
}

/**
 * One run of the path controller in model mode: the controller core (controller/core/) that the
 * daemon runs, driven over the virtual clock, with the control-plane model (control-plane.ts) in
 * place of QUIC and no store. Every rule is the core's; this only translates relay numbers to ids
 * and back, and the core's timers to virtual ones. It is always the leader; a controller restart
 * is a new instance with an empty registry and graph, as a controller on the in-memory store starts.
 */
export class SimController {
  readonly core: ControllerCore
  private readonly clock: VirtualClock
  private readonly channel: ControllerChannel
  private readonly mesh: MeshIndex
  /** Per relay: its current connection number (0 while none) and the boot epoch that made it. */
  private readonly conns: Float64Array
  private readonly boots: Float64Array
  private nextConn = 1
  private refused = 0
  private readonly driver: CoreDriver
  private closed = false

  constructor (components: { clock: VirtualClock, channel: ControllerChannel }, init: { mesh: MeshIndex, neighbourPolicy: NeighbourPolicy, computeSpacingMs?: number }) {
    this.clock = components.clock
    this.channel = components.channel
    this.mesh = init.mesh
    this.core = new ControllerCore({
      instanceId: 'model',
      neighbourPolicy: init.neighbourPolicy,
      relayExpiryMs: RELAY_EXPIRY_MS,
      computeSpacingMs: init.computeSpacingMs ?? 0,
      rebuildMinChanges: REBUILD_MIN_CHANGES,
      ids: init.mesh.ids
    })
    this.driver = new CoreDriver({ core: this.core, clock: this.clock }, { execute: (c) => { this.execute(c) } })
    this.conns = new Float64Array(init.mesh.ids.length)
    this.boots = new Float64Array(init.mesh.ids.length).fill(-1)
  }

  get graph (): MeshGraph { return this.core.graph }
  /** What the controller has sent each relay, numbered as the mesh index numbers relays. */
  get installed (): InstalledTables { return this.core.installed }
  get stats (): CoreStats { return this.core.stats }
  /** Report intake figures: wall time and cost changes. */
  get intakeStats (): ControllerCore['intake']['stats'] { return this.core.intake.stats }
  /** The version counter, as GET /api/topology reports it. */
  get tableVersion (): number { return this.core.version }

  start (): void {
    this.dispatch({ type: 'start' })
    this.dispatch({ type: 'elected', fence: 1 })
    this.dispatch({ type: 'restored', state: undefined })
  }

  stop (): void {
    if (this.closed) return
    const rolling = this.core.rolling
    this.dispatch({ type: 'stop' })
    this.closed = true
    this.driver.clearTimers()
    // A rollout cut short still changed the routes of the relays it reached.
    if (rolling !== undefined) this.channel.versionDone(rolling)
  }

  /**
   * Whether every relay has been sent a route to every other, as process mode's warm-up waits for.
   * Read from the tables sent rather than the graph, so polling it never forces a route
   * computation the controller would not have made.
   */
  routesEveryPair (): boolean {
    const n = this.mesh.ids.length
    for (let u = 0; u < n; u++) {
      const row = this.installed.nextRow(u)
      if (row.length < n) return false
      for (let d = 0; d < n; d++) if (u !== d && row[d] < 0) return false
    }
    return true
  }

  isLive (relay: number): boolean { return !this.closed && this.conns[relay] !== 0 }

  /** A register message with the table the relay forwards on; false when the core refused it. */
  register (relay: number, boot: number, next: Int32Array, backup: Int32Array): boolean {
    if (this.closed) return false
    const conn = this.nextConn++
    this.dispatch({ type: 'register', conn, relay: this.mesh.ids[relay], address: this.mesh.address(relay), boot: String(boot), caps: [], tableVersion: 0, table: { next, backup }, wallMs: this.clock.nowMs() })
    if (this.refused === conn) return false
    this.conns[relay] = conn
    this.boots[relay] = boot
    return true
  }

  /** The relay's channel closed (idle timeout): it stays known, offline. */
  disconnect (relay: number, boot: number): void {
    if (this.closed || this.conns[relay] === 0 || this.boots[relay] !== boot) return
    const conn = this.conns[relay]
    this.conns[relay] = 0
    this.dispatch({ type: 'disconnect', conn, reason: 'idle timeout', initiator: 'local' })
  }

  /** A link report from the relay. */
  report (_relay: number, r: ControlLinkReport): void {
    if (this.closed) return
    this.dispatch({ type: 'report', relay: r.relay, report: r })
  }

  private dispatch (ev: CoreEvent): void { this.driver.dispatch(ev) }

  private execute (c: CoreCommand): void {
    const index = this.mesh.index
    switch (c.type) {
      case 'neighbours':
        this.channel.neighbours(index.get(c.relay) as number, c.neighbours.map((n) => index.get(n.id) as number))
        return
      case 'table': {
        const { relay, version, round } = c
        this.channel.table(index.get(relay) as number, version, round, c.part, () => { this.dispatch({ type: 'ack', relay, version, round }) })
        return
      }
      case 'reserve-version': this.dispatch({ type: 'version', value: 0 }); return
      case 'rollout-done': this.channel.versionDone(c.version); return
      case 'refuse': this.refused = c.conn
      // No store, no log, and relays need no welcome or role: model mode always leads.
    }
  }
}
