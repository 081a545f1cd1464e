import { CONTROL_IDLE_TIMEOUT_MS } from '../../src/control/constants.js'
import type { LinkReport } from '../../prober/reporter.js'
import type { RoundPart } from '../../topology/rollout-plan.js'
import type { NeighbourPolicy } from '../../topology/neighbours.js'
import { RECONNECT_MAX_MS, RECONNECT_MIN_MS } from '../../src/control/constants.js'
import { SimController, type ControllerChannel } from './sim-controller.js'
import type { MeshIndex, SimRelay } from './sim-relay.js'
import type { VirtualClock } from './virtual-clock.js'

/**
 * The control channels between relays and the controller, and the controller's life.
 *
 * A channel is reliable and ordered (QUIC) and unaffected by the scenario's link impairments: the
 * control network is not the data mesh. Every message takes the relay's one-way control delay.
 * What the real channel does on failure is kept, because it sets how long failures last:
 *  - a relay connects with one round trip of handshake, then registers; it retries with backoff
 *    from RECONNECT_MIN_MS doubling to RECONNECT_MAX_MS, and a connect to a controller that is
 *    down fails after that one round trip;
 *  - either side notices the other is gone only by silence, after CONTROL_IDLE_TIMEOUT_MS; until
 *    then a dead relay keeps its session, so a relay restarted sooner is refused (a second boot
 *    of a live id) and retries, and relays keep reporting into a dead controller;
 *  - while no controller answers, relays forward on their last tables (fail-static), and keep
 *    probing and rerouting locally.
 */
export class ControlPlane implements ControllerChannel {
  /** The running controller, undefined while it is down. */
  controller: SimController | undefined
  /** Every controller run, oldest first; the last one holds the final tables even if stopped. */
  readonly runs: SimController[] = []
  /** Virtual times (ms) at which a table version's rollout ended, in order. */
  readonly versionTimes: number[] = []
  private readonly clock: VirtualClock
  private readonly relays: readonly SimRelay[]
  private readonly mesh: MeshIndex
  private readonly delay: Float64Array
  private readonly policy: NeighbourPolicy
  private readonly computeSpacingMs: number
  /** Per relay: the controller its channel is attached to, as the relay believes. */
  private readonly attached: Array<SimController | undefined>
  private readonly backoff: Float64Array

  constructor (components: { clock: VirtualClock, relays: readonly SimRelay[] }, init: { mesh: MeshIndex, delayMs: Float64Array, neighbourPolicy: NeighbourPolicy, computeSpacingMs?: number }) {
    this.clock = components.clock
    this.relays = components.relays
    this.mesh = init.mesh
    this.delay = init.delayMs
    this.policy = init.neighbourPolicy
    this.computeSpacingMs = init.computeSpacingMs ?? 0
    this.attached = this.relays.map(() => undefined)
    this.backoff = new Float64Array(this.relays.length).fill(RECONNECT_MIN_MS)
  }

  controllerUp (): void {
    if (this.controller !== undefined) return
    const c = new SimController({ clock: this.clock, channel: this }, { mesh: this.mesh, neighbourPolicy: this.policy, computeSpacingMs: this.computeSpacingMs })
    this.controller = c
    this.runs.push(c)
    c.start()
  }

  controllerDown (): void {
    const c = this.controller
    if (c === undefined) return
    c.stop()
    this.controller = undefined
    // Relays find out by silence, then reconnect with backoff.
    this.clock.setTimeout(() => {
      for (const r of this.relays) {
        if (this.attached[r.index] !== c) continue
        this.attached[r.index] = undefined
        this.retry(r.index, r.epoch)
      }
    }, CONTROL_IDLE_TIMEOUT_MS)
  }

  relayStarted (relay: number): void {
    this.backoff[relay] = RECONNECT_MIN_MS
    this.connect(relay, this.relays[relay].epoch)
  }

  relayStopped (relay: number): void {
    const boot = this.relays[relay].epoch
    const c = this.attached[relay]
    this.attached[relay] = undefined
    if (c !== undefined) this.clock.setTimeout(() => { c.disconnect(relay, boot) }, CONTROL_IDLE_TIMEOUT_MS)
  }

  /** A report leaves the relay; it reaches the controller the relay is attached to, if still running. */
  report (relay: number, report: LinkReport): void {
    const c = this.attached[relay]
    if (c === undefined) return
    this.clock.setTimeout(() => { if (c === this.controller) c.report(relay, report) }, this.delay[relay])
  }

  // ControllerChannel: what the controller sends. It counts as sent while the controller holds a
  // live session, even if the relay behind it is dead: only silence tells.

  neighbours (relay: number, peers: number[]): boolean {
    const c = this.controller
    if (c === undefined || !c.isLive(relay)) return false
    const r = this.relays[relay]
    const epoch = r.epoch
    this.clock.setTimeout(() => { if (this.reaches(r, epoch, c)) r.setNeighbours(peers) }, this.delay[relay])
    return true
  }

  table (relay: number, version: number, _round: number, part: RoundPart, ack: () => void): boolean {
    const c = this.controller
    if (c === undefined || !c.isLive(relay)) return false
    const r = this.relays[relay]
    const epoch = r.epoch
    const d = this.delay[relay]
    this.clock.setTimeout(() => {
      if (!this.reaches(r, epoch, c)) return
      r.applyTable(version, part.upserts, part.removals)
      this.clock.setTimeout(() => { if (c === this.controller) ack() }, d)
    }, d)
    return true
  }

  versionDone (_version: number): void {
    this.versionTimes.push(this.clock.now)
  }

  /** Whether a message sent by controller `c` to this boot of relay `r` is taken when it arrives. */
  private reaches (r: SimRelay, epoch: number, c: SimController): boolean {
    return r.alive && r.epoch === epoch && this.attached[r.index] === c
  }

  /** A connection attempt: one round trip of handshake, then the register message. */
  private connect (relay: number, epoch: number): void {
    const r = this.relays[relay]
    const d = this.delay[relay]
    this.clock.setTimeout(() => {
      if (!r.alive || r.epoch !== epoch) return
      const c = this.controller
      if (c === undefined) { this.retry(relay, epoch); return }
      this.attached[relay] = c
      this.backoff[relay] = RECONNECT_MIN_MS
      // The register message carries the table the relay forwards on now.
      const next = r.tableNext.slice()
      const backup = r.tableBackup.slice()
      this.clock.setTimeout(() => {
        if (!r.alive || r.epoch !== epoch || this.attached[relay] !== c || c !== this.controller) return
        if (c.register(relay, epoch, next, backup)) return
        // Refused: the controller closes the channel, and the relay tries again.
        this.clock.setTimeout(() => {
          if (this.attached[relay] !== c || r.epoch !== epoch) return
          this.attached[relay] = undefined
          this.retry(relay, epoch)
        }, d)
      }, d)
    }, 2 * d)
  }

  private retry (relay: number, epoch: number): void {
    const wait = this.backoff[relay]
    this.backoff[relay] = Math.min(RECONNECT_MAX_MS, wait * 2)
    this.clock.setTimeout(() => { this.connect(relay, epoch) }, wait)
  }
}
