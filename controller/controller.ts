import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { Clock, Timer } from '../src/clock.js'
import type { ControlLinkReport, ControllerMessage, RegisterMessage } from '../src/control/messages.js'
import { InvalidStateError } from '../src/errors.js'
import type { Logger } from '../src/logging.js'
import { Keys, type Store } from '../src/store/index.js'
import type { HostPort } from '../src/transport/address.js'
import { createQuicServer } from '../src/transport/quic/server.js'
import { controlServerChannel } from '../src/control/control-channel.js'
import type { Channel, QuicServer } from '../src/transport/quic/types.js'
import { LossMemory } from '../topology/loss-memory.js'
import { MeshGraph } from '../topology/mesh-graph.js'
import { snapshotOf, type TopologySnapshot } from '../topology/snapshot.js'
import { DEFAULT_NEIGHBOUR_POLICY, planNeighbours, selectNeighbours, type NeighbourPolicy } from '../topology/neighbours.js'
import {
  COMPUTE_DELAY_MS, NEIGHBOUR_BATCH_MS, NEIGHBOUR_REFRESH_MS, RELAY_EXPIRY_MS, RELAY_EXPIRY_SWEEP_MS,
  ROUND_ACK_TIMEOUT_MS, SETTLE_MAX_MS
} from './constants.js'
import { AdvertisePolicy } from './advertise-policy.js'
import { ControlIntake, sendQuietly } from './control-intake.js'
import { Leadership } from './leadership.js'
import { createControllerMetrics, type ControllerMetrics } from './metrics.js'
import { applyPart, keepUnknown, planRollout, type DesiredEntry, type RolloutPlan } from './rollout-plan.js'
import { Sessions, type Session } from './sessions.js'
import { restoreFromStore } from './store-restore.js'
import { StoreWriter } from './store-writer.js'
import { TopologyCache, type TopologyBodies } from './topology-cache.js'

export interface ControllerComponents {
  clock: Clock
  logger: Logger
  store: Store
}

export interface ControllerInit {
  /** QUIC control address relays connect to. */
  control: HostPort
  meshKey: Buffer
  /** Cost policy kind (topology/cost.ts). */
  costPolicy?: string
  neighbourPolicy?: NeighbourPolicy
  /** Names this instance in the leadership lease and in relay logs. */
  instanceId?: string
  leaseTtlMs?: number
  leaseRenewMs?: number
  /** CIDRs a relay may advertise an address in although it connects from another (AdvertisePolicy). */
  advertiseAllow?: string[]
  /** A relay disconnected this long (ms) is forgotten; default RELAY_EXPIRY_MS. */
  relayExpiryMs?: number
}

/**
 * The path controller: the registry of relays, link reports in, routes computed over the mesh
 * graph, table updates out in loop-free rounds, and leadership through the store.
 *
 * Every connected relay registers here, leader or standby, and sends its reports to both, so a
 * standby's graph is warm when it takes over. Only the leader computes and pushes: on election it
 * reloads what the store holds, asks every relay to re-register (so it diffs against the tables
 * relays really forward on), and pushes what changed.
 */
export class Controller {
  readonly graph: MeshGraph
  private readonly lossMemory = new LossMemory()
  /** The last neighbour selection, which the graph's links follow (pushNeighbours). */
  private neighbourSets = new Map<string, Set<string>>()
  /** Some relay was told to keep probing a link outside the selection. */
  private neighboursLinger = false
  readonly metrics: ControllerMetrics
  readonly instanceId: string
  private readonly clock: Clock
  private readonly log: Logger
  /** Tagged with the instance only, for sub-components to add their own component. */
  private readonly baseLog: Logger
  private readonly store: Store
  /** Writes that need no answer go through here, bounded (StoreWriter). */
  private readonly writer: StoreWriter
  private readonly init: ControllerInit
  private readonly sessions = new Sessions()
  private readonly intake: ControlIntake
  private readonly leadership: Leadership
  private readonly neighbourPolicy: NeighbourPolicy
  private readonly advertisePolicy: AdvertisePolicy
  private readonly relayExpiryMs: number
  private expiryTimer: Timer | undefined
  /**
   * Relays forgotten after the expiry. Routes toward a relay the graph does not hold are kept
   * (keepUnknown), so these count as known until they register again: routes to them are withdrawn.
   */
  private readonly expiredIds = new Set<string>()
  private server: QuicServer | undefined
  private state: 'new' | 'running' | 'closed' = 'new'
  private version = 0
  private computeTimer: Timer | undefined
  private refreshTimer: Timer | undefined
  private pushTimer: Timer | undefined
  private computing = false
  private computeAgain = false
  /** Bumped by every new rollout; an older rollout stops at its next round. */
  private rolloutEpoch = 0
  private readonly ackWaiters = new Map<string, () => void>()
  private neighbourSeed = 1
  /**
   * A leader that found no links in the store (a memory store, a first start) settles before it
   * selects neighbours or computes: until every live relay has reported once, or SETTLE_MAX_MS,
   * it takes in reports of whatever links relays probe now. A selection made with no RTTs would be
   * all random draws, and routes computed over the first few reports would send traffic over
   * half a graph: at 1,000 relays that blacked out every flow for 4 s after a restart.
   */
  private settling = false
  /** Tables were computed since this instance last became leader (see ready). */
  private computedAsLeader = false
  private settleTimer: Timer | undefined
  private readonly reportedWhileSettling = new Set<string>()
  private readonly topologyCache: TopologyCache
  address: HostPort | undefined

  constructor (components: ControllerComponents, init: ControllerInit) {
    this.clock = components.clock
    this.store = components.store
    this.init = init
    this.instanceId = init.instanceId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
    this.baseLog = components.logger.child({ instance: this.instanceId })
    this.log = this.baseLog.child({ component: 'controller' })
    this.graph = new MeshGraph(init.costPolicy)
    this.neighbourPolicy = init.neighbourPolicy ?? DEFAULT_NEIGHBOUR_POLICY
    this.advertisePolicy = new AdvertisePolicy(init.advertiseAllow)
    this.relayExpiryMs = init.relayExpiryMs ?? RELAY_EXPIRY_MS
    if (!(this.relayExpiryMs > 0)) throw new TypeError(`relayExpiryMs must be positive, not ${this.relayExpiryMs}`)
    this.leadership = new Leadership({ clock: this.clock, store: this.store, logger: this.baseLog }, {
      owner: this.instanceId, ttlMs: init.leaseTtlMs, renewMs: init.leaseRenewMs
    })
    this.topologyCache = new TopologyCache({ clock: this.clock, graph: () => this.graph, version: () => this.version })
    this.metrics = createControllerMetrics({
      relays: () => this.sessions.size,
      live: () => this.sessions.live().length,
      version: () => this.version,
      leader: () => this.leadership.isLeader
    })
    this.intake = new ControlIntake({ clock: this.clock, logger: this.log, metrics: this.metrics, sessions: this.sessions }, {
      register: (ch, m) => { this.onRegister(ch, m) },
      report: (s, r) => { this.onReport(s, r) },
      ack: (s, version, round) => { this.ackWaiters.get(`${s.id}/${version}/${round}`)?.() },
      closed: (s, info) => {
        if (s.channel === undefined) this.graph.setRelayUp(s.id, false)
        this.log.info({ relayId: s.id, reason: info.reason, initiator: info.initiator }, 'relay disconnected')
      }
    })
    this.writer = new StoreWriter({ store: this.store, clock: this.clock, logger: this.baseLog }, {
      onCount: (result) => { this.metrics.storeWrites.inc({ result }) }
    })
  }

  get role (): 'leader' | 'standby' { return this.leadership.isLeader ? 'leader' : 'standby' }

  /**
   * What /healthz reports as `ready` (docs/http-api.md): a standby is ready while it runs (it
   * follows the lease and takes over when it lapses); a leader once it has computed tables since
   * it was elected, so a leader with no relay reporting yet is not.
   */
  get ready (): boolean {
    if (this.state !== 'running') return false
    return !this.leadership.isLeader || this.computedAsLeader
  }
  get tableVersion (): number { return this.version }

  async start (): Promise<void> {
    if (this.state !== 'new') throw new InvalidStateError('controller')
    this.state = 'running'
    this.leadership.events.on('elected', () => { void this.onElected() })
    this.leadership.events.on('deposed', () => { this.onDeposed() })
    this.server = createQuicServer({
      host: this.init.control.host,
      port: this.init.control.port,
      ...controlServerChannel(this.init.meshKey),
      logger: this.baseLog,
      clock: this.clock,
      onChannel: (ch) => { this.intake.accept(ch) }
    })
    this.address = await this.server.start()
    await this.leadership.start()
    this.refreshTimer = this.clock.setInterval(() => { if (this.leadership.isLeader && !this.settling) this.pushNeighbours(true) }, NEIGHBOUR_REFRESH_MS)
    this.expiryTimer = this.clock.setInterval(() => { this.expireOffline() }, Math.min(RELAY_EXPIRY_SWEEP_MS, this.relayExpiryMs / 2))
    this.log.info({ control: this.address, role: this.role, store: this.store.kind }, 'controller started')
  }

  async stop (): Promise<void> {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.rolloutEpoch++
    if (this.computeTimer !== undefined) this.clock.clearTimer(this.computeTimer)
    if (this.refreshTimer !== undefined) this.clock.clearTimer(this.refreshTimer)
    if (this.expiryTimer !== undefined) this.clock.clearTimer(this.expiryTimer)
    if (this.pushTimer !== undefined) this.clock.clearTimer(this.pushTimer)
    if (this.settleTimer !== undefined) this.clock.clearTimer(this.settleTimer)
    await this.leadership.stop()
    await this.server?.stop()
    this.log.info({ version: this.version }, 'controller stopped')
  }

  /** The topology as GET /api/topology serves it, as objects (slow at scale: see topology()). */
  snapshot (opts: { routes: boolean } = { routes: true }): TopologySnapshot {
    return snapshotOf(this.graph, this.version, opts)
  }

  /** GET /api/topology's JSON body at the current table version, built once (topology-cache.ts). */
  async topology (opts: { routes: boolean }): Promise<Buffer> {
    return await this.topologyCache.body(opts)
  }

  /** The same, with its gzip'd form, built with it (topology-cache.ts). */
  async topologyBodies (opts: { routes: boolean }): Promise<TopologyBodies> {
    return await this.topologyCache.bodies(opts)
  }

  /** Each relay's table as last sent, for inspection. */
  installedTables (): Map<string, Map<string, DesiredEntry>> {
    return new Map([...this.sessions.all()].map((s) => [s.id, s.installed]))
  }

  // Channels and messages.

  private onRegister (ch: Channel, m: RegisterMessage): void {
    const badAddress = this.advertisePolicy.check(m.address, ch.remote.host)
    if (badAddress !== undefined) { this.intake.refuse(ch, 'bad_advertise', badAddress); return }
    const verdict = this.sessions.check(ch, m)
    if (!verdict.ok) { this.intake.refuse(ch, 'duplicate', verdict.reason); return }
    if (verdict.replaced !== undefined) {
      this.sessions.disconnect(verdict.replaced, this.clock.monoMs())
      void verdict.replaced.close('replaced by a newer connection from the same relay')
    }
    const s = this.sessions.register(ch, m)
    this.expiredIds.delete(s.id)
    this.graph.upsertRelay(s.id, s.address)
    this.log.info({ relayId: s.id, address: s.address, tableVersion: s.version, routes: s.installed.size }, 'relay registered')
    this.send(s, { type: 'welcome', role: this.role, controller: this.instanceId, fence: this.leadership.fence })
    this.writer.hset(Keys.relays, s.id, JSON.stringify({ id: s.id, address: s.address, caps: s.caps, registeredAt: this.clock.nowMs() }))
    if (!this.leadership.isLeader) return
    this.schedulePush()
  }

  /**
   * Registrations within NEIGHBOUR_BATCH_MS share one neighbour selection, then a computation.
   * Beyond the full-mesh size a selection costs O(n² log n); a thousand relays reconnecting to a
   * restarted controller would otherwise run it a thousand times within a second or two.
   */
  private schedulePush (): void {
    if (this.pushTimer !== undefined) return
    this.pushTimer = this.clock.setTimeout(() => {
      this.pushTimer = undefined
      if (!this.leadership.isLeader || this.state !== 'running') return
      if (this.settling) { this.checkSettled(); return }
      this.pushNeighbours(false)
      this.scheduleCompute()
    }, NEIGHBOUR_BATCH_MS)
  }

  private onReport (s: Session, r: ControlLinkReport): void {
    this.metrics.reports.inc()
    // The first report makes the relay eligible for tables: compute even if no cost moved.
    let changed = !s.reported
    s.reported = true
    const now = this.clock.monoMs()
    for (const l of r.links) {
      // A link outside the selection (one still probed until routes leave it, or a report sent
      // before the relay had its new set) must not come back into the graph.
      if (!this.settling && this.neighbourSets.get(s.id)?.has(l.peer) !== true) continue
      if (this.graph.updateLink(s.id, l.peer, this.lossMemory.metrics(s.id, l, now))) changed = true
    }
    if (this.settling) {
      this.reportedWhileSettling.add(s.id)
      this.checkSettled()
    }
    if (this.leadership.isLeader) {
      this.writer.hset(Keys.links, s.id, JSON.stringify(r.links))
      if (changed) this.scheduleCompute(r.trigger === 'schedule' ? COMPUTE_DELAY_MS : 0)
    }
  }

  private send (s: Session, msg: ControllerMessage): boolean {
    const ch = s.channel
    if (ch === undefined || ch.isClosed) return false
    return sendQuietly(ch, msg, (err) => { this.log.debug({ relayId: s.id, err: err.message }, 'control send failed') })
  }

  // Leadership.

  private async onElected (): Promise<void> {
    this.computedAsLeader = false
    try {
      await this.loadFromStore()
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not load state from the store; starting from what relays report')
    }
    // Deposed or stopped while loading: announcing leadership now would mislead every relay.
    if (!this.leadership.isLeader || this.state !== 'running') return
    for (const s of this.sessions.live()) this.send(s, { type: 'role', role: 'leader', fence: this.leadership.fence })
    if (this.graph.graph.size === 0) {
      this.settling = true
      this.reportedWhileSettling.clear()
      this.settleTimer = this.clock.setTimeout(() => { this.endSettling() }, SETTLE_MAX_MS)
      this.checkSettled()
      return
    }
    this.pushNeighbours(true)
    this.scheduleCompute()
  }

  /** Settling ends once every live relay has reported (and at least one is live). */
  private checkSettled (): void {
    const live = this.sessions.live()
    if (this.settling && live.length > 0 && live.every((s) => this.reportedWhileSettling.has(s.id))) this.endSettling()
  }

  private endSettling (): void {
    if (!this.settling) return
    this.settling = false
    if (this.settleTimer !== undefined) this.clock.clearTimer(this.settleTimer)
    this.settleTimer = undefined
    this.log.info({ relays: this.sessions.live().length, links: this.graph.graph.size }, 'settled: selecting neighbours and computing routes')
    if (!this.leadership.isLeader || this.state !== 'running') return
    this.pushNeighbours(false)
    this.scheduleCompute()
  }

  private onDeposed (): void {
    this.rolloutEpoch++
    for (const s of this.sessions.live()) this.send(s, { type: 'role', role: 'standby', fence: 0 })
  }

  /** Recovers the registry, link state and version a previous leader left in the store. */
  private async loadFromStore (): Promise<void> {
    const loaded = await restoreFromStore(this.store, { sessions: this.sessions, graph: this.graph, nowMono: this.clock.monoMs() }, ({ key, field, reason }) => {
      this.metrics.storeCorrupt.inc({ key })
      this.log.warn({ key, field, reason }, 'skipping a corrupt value in the store')
    })
    this.version = Math.max(this.version, loaded.version)
    this.log.info({ relays: loaded.relays, links: loaded.links, version: this.version }, 'state loaded from the store')
  }

  /**
   * Forgets relays disconnected for relayExpiryMs: the registry entry, the graph node with its
   * links (so its routes go), and, on the leader, what the store holds of it.
   */
  private expireOffline (): void {
    if (this.state !== 'running') return
    const gone = this.sessions.expire(this.clock.monoMs(), this.relayExpiryMs)
    if (gone.length === 0) return
    const leader = this.leadership.isLeader
    if (this.expiredIds.size + gone.length > MAX_EXPIRED_IDS) this.expiredIds.clear()
    for (const s of gone) {
      this.graph.removeRelay(s.id)
      this.neighbourSets.delete(s.id)
      this.expiredIds.add(s.id)
      this.metrics.expired.inc()
      if (leader) {
        for (const key of [Keys.relays, Keys.links, Keys.tableVersions]) {
          this.store.hdel(key, s.id).catch((err: Error) => { this.log.warn({ err: err.message }, 'could not forget an expired relay in the store') })
        }
      }
    }
    this.log.info({ relays: gone.map((s) => s.id), offlineMs: this.relayExpiryMs }, 'relays disconnected past the expiry forgotten')
    if (!leader || this.settling) return
    this.pushNeighbours(false)
    this.scheduleCompute()
  }

  // Neighbours.

  /** Recomputes who probes whom and tells relays whose set changed (all of them when `refresh`). */
  private pushNeighbours (refresh: boolean): void {
    if (refresh) this.neighbourSeed++
    const ids = this.graph.relayIds()
    const used = new Set<string>()
    for (const [a, b] of this.nextHopsInUse()) used.add(`${a}>${b}`)
    this.neighbourSets = selectNeighbours(ids, (a, b) => this.graph.rtt(a, b), this.neighbourPolicy, this.neighbourSeed, {
      // After settling there is no selection yet: the links relays probe stand for it.
      previous: this.neighbourSets.size > 0 ? this.neighbourSets : this.graph.adjacency(),
      inUse: (a, b) => used.has(`${a}>${b}`)
    })
    // Links between relays that are no longer neighbours would keep stale figures: drop them, and
    // recompute so routes move off them before the relays stop probing them (planNeighbours).
    if (this.graph.retainLinks(this.neighbourSets)) this.scheduleCompute()
    this.sendNeighbours()
  }

  /**
   * Tells each relay whose set changed what to probe: the selection, plus links its installed next
   * hops still use. Run again after a rollout while such links linger, to let them go.
   */
  private sendNeighbours (): void {
    const plan = planNeighbours(this.neighbourSets, this.nextHopsInUse())
    this.neighboursLinger = plan.lingering
    for (const s of this.sessions.live()) {
      const mine = [...(plan.probe.get(s.id) ?? [])].sort()
      const joined = mine.join(',')
      if (joined === s.neighboursSent) continue
      const neighbours = mine.map((id) => ({ id, address: this.sessions.get(id)?.address ?? '' })).filter((n) => n.address !== '')
      if (this.send(s, { type: 'neighbours', fence: this.leadership.fence, neighbours })) s.neighboursSent = joined
    }
  }

  /** Every (relay, next hop) pair some installed table entry forwards over. */
  private * nextHopsInUse (): Generator<[string, string]> {
    for (const s of this.sessions.all()) for (const e of s.installed.values()) yield [s.id, e.nextHop]
  }

  // Routes.

  private scheduleCompute (delayMs = COMPUTE_DELAY_MS): void {
    if (this.state !== 'running' || this.settling) return
    if (this.computeTimer !== undefined) {
      if (delayMs > 0) return
      this.clock.clearTimer(this.computeTimer)
    }
    this.computeTimer = this.clock.setTimeout(() => {
      this.computeTimer = undefined
      void this.compute()
    }, delayMs)
  }

  private async compute (): Promise<void> {
    if (!this.leadership.isLeader || this.state !== 'running') return
    if (this.computing) { this.computeAgain = true; return }
    this.computing = true
    try {
      const t0 = this.clock.monoMs()
      // A relay that has not reported to this controller yet may have links the graph lacks, which
      // would make routes it has look unreachable: it waits for its first report (at most 1 s).
      const live = this.sessions.live().filter((s) => s.reported)
      const known = (id: string): boolean => this.graph.graph.hasNode(id) || this.expiredIds.has(id)
      const desired = new Map(live.map((s) => [s.id, keepUnknown(this.graph.tableFor(s.id), s.installed, known)]))
      const installed = new Map(live.map((s) => [s.id, s.installed]))
      const plan = planRollout(installed, desired, (u, d) => this.graph.hops(u, d))
      if (live.length > 0) this.computedAsLeader = true
      this.metrics.computations.inc()
      this.metrics.computeSeconds.observe((this.clock.monoMs() - t0) / 1000)
      if (plan.length === 0) return
      this.version = Math.max(this.version + 1, await this.store.incr(Keys.topologyVersion))
      this.metrics.rollouts.inc()
      await this.rollout(this.version, plan)
      // Links kept only for routes that have now moved can be let go.
      if (this.neighboursLinger && this.leadership.isLeader) this.sendNeighbours()
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'route computation failed')
    } finally {
      this.computing = false
      if (this.computeAgain) { this.computeAgain = false; this.scheduleCompute(0) }
    }
  }

  /** Sends a plan round by round, each after the previous one's acks (or its timeout). */
  private async rollout (version: number, plan: RolloutPlan): Promise<void> {
    const epoch = ++this.rolloutEpoch
    const t0 = this.clock.monoMs()
    let entries = 0
    for (const { round, parts } of plan) {
      if (epoch !== this.rolloutEpoch || !this.leadership.isLeader) return
      const acks: Array<Promise<void>> = []
      for (const [id, part] of parts) {
        const s = this.sessions.get(id)
        if (s === undefined) continue
        const sent = this.send(s, { type: 'table', fence: this.leadership.fence, version, round, full: false, upserts: part.upserts, removals: part.removals })
        if (!sent) continue
        // The relay applies messages in order, so what was sent is what it will forward on.
        applyPart(s.installed, part)
        s.version = version
        entries += part.removals.length + Object.keys(part.upserts).length
        acks.push(this.waitAck(`${id}/${version}/${round}`))
      }
      await Promise.all(acks)
    }
    const versions = [...this.sessions.live()].map((s) => [s.id, String(s.version)] as const)
    for (const [id, v] of versions) this.writer.hset(Keys.tableVersions, id, v)
    this.log.info({ version, rounds: plan.length, entries, ms: Math.round(this.clock.monoMs() - t0) }, 'tables updated')
  }

  private async waitAck (key: string): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = this.clock.setTimeout(() => {
        this.ackWaiters.delete(key)
        this.log.debug({ key }, 'table round not acknowledged in time')
        resolve()
      }, ROUND_ACK_TIMEOUT_MS)
      this.ackWaiters.set(key, () => { this.clock.clearTimer(t); this.ackWaiters.delete(key); resolve() })
    })
  }
}

/** Bounds the set of expired ids kept for withdrawing routes; past it, the oldest knowledge goes. */
const MAX_EXPIRED_IDS = 100_000
