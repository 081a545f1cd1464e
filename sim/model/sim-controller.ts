import { performance } from 'node:perf_hooks'
import type { Timer } from '../../src/clock.js'
import type { ControlLinkReport } from '../../src/control/messages.js'
import { COMPUTE_DELAY_MS, NEIGHBOUR_BATCH_MS, NEIGHBOUR_REFRESH_MS, ROUND_ACK_TIMEOUT_MS, SETTLE_MAX_MS } from '../../controller/constants.js'
import { planRollout, type RolloutPlan, type RoundPart } from '../../controller/rollout-plan.js'
import { MeshGraph } from '../../topology/mesh-graph.js'
import { planNeighbours, selectNeighbours, type NeighbourPolicy } from '../../topology/neighbours.js'
import { ReportIntake } from './report-intake.js'
import { changedEntries, InstalledTables } from './route-diff.js'
import type { MeshIndex } from './sim-relay.js'
import type { VirtualClock } from './virtual-clock.js'

const NONE = -1

/** How the controller reaches relays: the control channel model (control-plane.ts). */
export interface ControllerChannel {
  /** Sends a neighbours message; false when the relay's channel is closed. */
  neighbours: (relay: number, peers: number[]) => boolean
  /** Sends one round part; `ack` runs when the relay's ack arrives. False when not sent. */
  table: (relay: number, version: number, round: number, part: RoundPart, ack: () => void) => boolean
  /** A version's rollout ended: every round acknowledged or timed out, or the controller stopped. */
  versionDone: (version: number) => void
}

export interface ControllerStats {
  computations: number
  versions: number
  /** Wall time in route computation and diffing (ms). */
  computeWallMs: number
}

/**
 * One run of the path controller (controller/controller.ts) with the QUIC channel and the store
 * taken away: the same MeshGraph fed the same way from reports, the same debounce, neighbour
 * selection, planRollout rounds paced by acks or ROUND_ACK_TIMEOUT_MS. It is always the leader;
 * a controller restart is a new instance with an empty registry and graph, as a controller on the
 * in-memory store starts.
 *
 * Departures, all for cost at 1,000 relays: tables are diffed from the route engine's arrays
 * (route-diff.ts; the same rounds go out); and with `computeSpacingMs` set (the default beyond
 * LARGE_MESH_RELAYS), computations are spaced that far apart and reports wait for the next one
 * (report-intake.ts).
 */
export class SimController {
  readonly graph: MeshGraph
  readonly installed: InstalledTables
  readonly stats: ControllerStats = { computations: 0, versions: 0, computeWallMs: 0 }
  private readonly clock: VirtualClock
  private readonly channel: ControllerChannel
  private readonly ids: readonly string[]
  private readonly mesh: MeshIndex
  private readonly policy: NeighbourPolicy
  private readonly spacingMs: number
  /** Sessions: registered at all, with a live channel, and the boot epoch that registered. */
  private readonly registered: Uint8Array
  private readonly live: Uint8Array
  private readonly boot: Float64Array
  private readonly neighboursSent: string[]
  private closed = false
  private version = 0
  private computeTimer: Timer | undefined
  private computeAt = 0
  private lastComputeAt = -Infinity
  private computing = false
  private computeAgain = false
  private rolling: number | undefined
  private rolloutEpoch = 0
  private neighbourSeed = 1
  private refreshTimer: Timer | undefined
  private pushTimer: Timer | undefined
  private readonly intake: ReportIntake
  /** The last neighbour selection, which the graph's links follow (controller.ts). */
  private neighbourSets = new Map<string, Set<string>>()
  private neighboursLinger = false
  /** Settling, as controller.ts: a new instance starts with an empty graph. */
  private settling = true
  private settleTimer: Timer | undefined
  /** As Session.reported: the boot registered has reported; until then it gets no table. */
  private readonly reported: Uint8Array

  constructor (components: { clock: VirtualClock, channel: ControllerChannel }, init: { mesh: MeshIndex, neighbourPolicy: NeighbourPolicy, computeSpacingMs?: number }) {
    this.clock = components.clock
    this.channel = components.channel
    this.mesh = init.mesh
    this.ids = init.mesh.ids
    this.policy = init.neighbourPolicy
    this.spacingMs = init.computeSpacingMs ?? 0
    this.graph = new MeshGraph()
    this.intake = new ReportIntake(this.graph, this.clock, (relay, peer) => this.settling || this.neighbourSets.get(relay)?.has(peer) === true)
    const n = this.ids.length
    this.installed = new InstalledTables(n)
    this.registered = new Uint8Array(n)
    this.live = new Uint8Array(n)
    this.boot = new Float64Array(n)
    this.neighboursSent = this.ids.map(() => '')
    this.reported = new Uint8Array(n)
  }

  start (): void {
    this.refreshTimer = this.clock.setInterval(() => { if (!this.settling) this.pushNeighbours(true) }, NEIGHBOUR_REFRESH_MS)
    this.settleTimer = this.clock.setTimeout(() => { this.endSettling() }, SETTLE_MAX_MS)
  }

  stop (): void {
    if (this.closed) return
    this.closed = true
    this.rolloutEpoch++
    for (const t of [this.computeTimer, this.refreshTimer, this.pushTimer, this.settleTimer]) if (t !== undefined) this.clock.clearTimer(t)
    // A rollout cut short still changed the routes of the relays it reached.
    if (this.rolling !== undefined) this.channel.versionDone(this.rolling)
  }

  /** Report intake figures: wall time and cost changes. */
  get intakeStats (): ReportIntake['stats'] { return this.intake.stats }

  /** The version counter, as GET /api/topology reports it. */
  get tableVersion (): number { return this.version }

  /**
   * Whether every relay has been sent a route to every other, as process mode's warm-up waits for.
   * Read from the tables sent rather than the graph, so polling it never forces a route
   * computation the controller would not have made.
   */
  routesEveryPair (): boolean {
    const { n, next } = this.installed
    for (let u = 0; u < n; u++) for (let d = 0; d < n; d++) if (u !== d && next[u * n + d] < 0) return false
    return true
  }

  isLive (relay: number): boolean { return !this.closed && this.live[relay] === 1 }

  /**
   * A register message with the table the relay forwards on. Refused (false) while another boot
   * of the same relay still holds a live session, as Sessions.check refuses a second claimant.
   */
  register (relay: number, boot: number, next: Int32Array, backup: Int32Array): boolean {
    if (this.closed) return false
    if (this.live[relay] === 1 && this.boot[relay] !== boot) return false
    if (this.boot[relay] !== boot) this.reported[relay] = 0
    this.registered[relay] = 1
    this.live[relay] = 1
    this.boot[relay] = boot
    this.installed.setRow(relay, next, backup)
    this.neighboursSent[relay] = ''
    this.graph.upsertRelay(this.ids[relay], this.mesh.address(relay))
    // As controller.ts schedulePush: registrations within NEIGHBOUR_BATCH_MS share one selection.
    if (this.pushTimer === undefined) {
      this.pushTimer = this.clock.setTimeout(() => {
        this.pushTimer = undefined
        if (this.settling) { this.checkSettled(); return }
        this.pushNeighbours(false)
        this.scheduleCompute()
      }, NEIGHBOUR_BATCH_MS)
    }
    return true
  }

  /** The relay's channel closed (idle timeout): it stays known, offline. */
  disconnect (relay: number, boot: number): void {
    if (this.closed || this.live[relay] === 0 || this.boot[relay] !== boot) return
    this.live[relay] = 0
    this.graph.setRelayUp(this.ids[relay], false)
  }

  /**
   * A link report. With computations unspaced it is taken in at once, as controller.ts onReport
   * does; with them spaced, it waits for the next computation (report-intake.ts).
   */
  report (relay: number, r: ControlLinkReport): void {
    if (this.closed || this.live[relay] === 0) return
    // The first report makes the relay eligible for tables: compute even if no cost moved.
    const first = this.reported[relay] === 0
    this.reported[relay] = 1
    const delay = r.trigger === 'schedule' ? COMPUTE_DELAY_MS : 0
    if (this.spacingMs === 0) {
      if (this.intake.take(r) || first) this.scheduleCompute(delay)
    } else {
      this.intake.hold(r)
      this.scheduleCompute(delay)
    }
    this.checkSettled()
  }

  /**
   * As controller.ts: settling ends once every live relay has reported, at least one live. An
   * instance settles only from its start, so `reported` (set by any report to this instance) is
   * the record controller.ts keeps separately, where a standby's sessions may have reported before.
   */
  private checkSettled (): void {
    if (!this.settling) return
    let any = false
    for (let r = 0; r < this.ids.length; r++) {
      if (this.live[r] === 0) continue
      if (this.reported[r] === 0) return
      any = true
    }
    if (any) this.endSettling()
  }

  private endSettling (): void {
    if (this.closed || !this.settling) return
    // Reports held for a spaced computation were sent while settling: they are taken in as such.
    this.intake.flush()
    this.settling = false
    if (this.settleTimer !== undefined) this.clock.clearTimer(this.settleTimer)
    this.settleTimer = undefined
    this.pushNeighbours(false)
    this.scheduleCompute()
  }

  /** The controller's neighbour push: select, drop links between non-neighbours, send changes. */
  private pushNeighbours (refresh: boolean): void {
    if (this.closed) return
    // The real controller took these in as they came, before this push.
    this.intake.flush()
    if (refresh) this.neighbourSeed++
    const ids = this.graph.relayIds()
    const { index } = this.mesh
    this.neighbourSets = selectNeighbours(ids, (a, b) => this.graph.rtt(a, b), this.policy, this.neighbourSeed, {
      previous: this.neighbourSets.size > 0 ? this.neighbourSets : this.graph.adjacency(),
      inUse: (a, b) => this.usesHop(index.get(a) as number, index.get(b) as number)
    })
    if (this.graph.retainLinks(this.neighbourSets)) this.scheduleCompute()
    this.sendNeighbours()
  }

  /** As controller.ts sendNeighbours: the selection plus links installed next hops still use. */
  private sendNeighbours (): void {
    const plan = planNeighbours(this.neighbourSets, this.nextHopsInUse())
    this.neighboursLinger = plan.lingering
    const { index } = this.mesh
    for (let r = 0; r < this.ids.length; r++) {
      if (this.live[r] === 0) continue
      const mine = [...(plan.probe.get(this.ids[r]) ?? [])].sort()
      const joined = mine.join(',')
      if (joined === this.neighboursSent[r]) continue
      if (this.channel.neighbours(r, mine.map((id) => index.get(id) as number))) this.neighboursSent[r] = joined
    }
  }

  /** Whether some installed entry of relay `r` forwards over `hop` (the real controller keeps a set of them). */
  private usesHop (r: number, hop: number): boolean {
    const { n, next } = this.installed
    for (let i = r * n; i < (r + 1) * n; i++) if (next[i] === hop) return true
    return false
  }

  /** Every (relay, next hop) pair some installed entry forwards over, as controller.ts's. */
  private * nextHopsInUse (): Generator<[string, string]> {
    const { n, next } = this.installed
    for (let r = 0; r < n; r++) {
      for (let i = r * n; i < (r + 1) * n; i++) if (next[i] >= 0) yield [this.ids[r], this.ids[next[i]]]
    }
  }

  private scheduleCompute (delayMs = COMPUTE_DELAY_MS): void {
    if (this.closed || this.settling) return
    const now = this.clock.now
    const at = Math.max(now + delayMs, this.lastComputeAt + this.spacingMs)
    if (this.computeTimer !== undefined) {
      if (at >= this.computeAt) return
      this.clock.clearTimer(this.computeTimer)
    }
    this.computeAt = at
    this.computeTimer = this.clock.setTimeout(() => { this.computeTimer = undefined; this.compute() }, at - now)
  }

  private compute (): void {
    if (this.closed) return
    if (this.computing) { this.computeAgain = true; return }
    this.computing = true
    this.lastComputeAt = this.clock.now
    this.intake.flush()
    const t0 = performance.now()
    const live: number[] = []
    for (let r = 0; r < this.ids.length; r++) if (this.live[r] === 1 && this.reported[r] === 1) live.push(r)
    const changes = changedEntries(this.graph, this.ids, this.mesh.index, live, this.installed)
    const plan = changes.entries === 0 ? [] : planRollout(changes.installed, changes.desired, (u, d) => this.graph.hops(u, d))
    this.stats.computations++
    this.stats.computeWallMs += performance.now() - t0
    if (plan.length === 0) { this.computed(); return }
    this.version++
    this.stats.versions++
    this.rollout(this.version, plan)
  }

  private computed (): void {
    this.computing = false
    this.rolling = undefined
    if (this.computeAgain) { this.computeAgain = false; this.scheduleCompute(0) }
  }

  /** Sends a plan round by round, each after the previous one's acks or ROUND_ACK_TIMEOUT_MS. */
  private rollout (version: number, plan: RolloutPlan): void {
    const epoch = ++this.rolloutEpoch
    this.rolling = version
    let i = 0
    const nextRound = (): void => {
      if (epoch !== this.rolloutEpoch || this.closed) return
      if (i === plan.length) {
        this.channel.versionDone(version)
        // As controller.ts: links kept only for routes that have now moved can be let go.
        if (this.neighboursLinger) this.sendNeighbours()
        this.computed()
        return
      }
      const { round, parts } = plan[i++]
      let pending = 0
      let done = false
      let timer: Timer | undefined
      const finish = (): void => {
        if (done) return
        done = true
        if (timer !== undefined) this.clock.clearTimer(timer)
        nextRound()
      }
      for (const [id, part] of parts) {
        const r = this.mesh.index.get(id) as number
        if (this.registered[r] === 0) continue
        if (!this.channel.table(r, version, round, part, () => { if (--pending === 0) finish() })) continue
        // The relay applies messages in order, so what was sent is what it will forward on.
        this.record(r, part)
        pending++
      }
      if (pending === 0) { finish(); return }
      timer = this.clock.setTimeout(finish, ROUND_ACK_TIMEOUT_MS)
    }
    nextRound()
  }

  private record (relay: number, part: RoundPart): void {
    const { n, next, backup } = this.installed
    const index = (id: string): number => this.mesh.index.get(id) as number
    for (const d of part.removals) { const k = relay * n + index(d); next[k] = NONE; backup[k] = NONE }
    for (const d in part.upserts) {
      const e = part.upserts[d]
      const k = relay * n + index(d)
      next[k] = index(e.next_hop)
      backup[k] = e.backup === null ? NONE : index(e.backup)
    }
  }
}
