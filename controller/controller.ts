import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { Clock } from '../src/clock.js'
import type { ControllerWireMessage, RegisterMessage, RelayMessage } from '../src/control/messages.js'
import { upsertsToWire } from '../src/control/table-codec.js'
import { controlServerChannel } from '../src/control/control-channel.js'
import { AddressChecks } from './address-checks.js'
import { identityServerAuth, type IdentityPeer } from '../src/control/identity-auth.js'
import { InvalidStateError } from '../src/errors.js'
import type { Identity, PublicIdentity } from '../src/identity.js'
import type { Logger } from '../src/logging.js'
import { Keys, type Store } from '../src/store/index.js'
import { loadStoredState } from '../src/store/records.js'
import type { HostPort } from '../src/transport/address.js'
import { createQuicServer } from '../src/transport/quic/server.js'
import type { Channel, QuicServer } from '../src/transport/quic/types.js'
import type { MeshGraph } from '../topology/mesh-graph.js'
import { snapshotOf, type TopologySnapshot } from '../topology/snapshot.js'
import { DEFAULT_NEIGHBOUR_POLICY, type NeighbourPolicy } from '../topology/neighbours.js'
import type { DesiredEntry } from '../topology/rollout-plan.js'
import { REBUILD_MIN_CHANGES, RELAY_EXPIRY_MS } from './constants.js'
import { AdvertisePolicy } from './advertise-policy.js'
import { ControlIntake, sendQuietly } from './control-intake.js'
import { ControllerCore } from './core/controller-core.js'
import { CoreDriver } from './core/driver.js'
import type { CoreCommand, CoreEvent, CoreOptions, CoreStats } from './core/types.js'
import { Leadership } from './leadership.js'
import { createControllerMetrics, type ControllerMetrics } from './metrics.js'
import { StoreWriter } from './store-writer.js'
import { TopologyCache, type TopologyBodies } from './topology-cache.js'

export interface ControllerComponents {
  clock: Clock
  logger: Logger
  store: Store
  /** Sees every event the core handles, as it handles it (the replay test records them). */
  recorder?: (r: CoreRecord) => void
}

export interface ControllerInit {
  /** QUIC control address relays connect to. */
  control: HostPort
  meshKey: Buffer
  /**
   * Security v2's control channel (docs/security.md): relays prove an identity key that `relayKeys`
   * lists under their id, and this controller proves `own`; a relay registers only under the id its
   * key is listed under. Without it the control channel is authenticated by the mesh key.
   */
  identity?: { own: Identity, relayKeys: ReadonlyMap<string, readonly PublicIdentity[]> }
  /**
   * Take a register only once its advertised address answers the UDP address check (default
   * true; docs/security.md). Off for tests whose clients are not relays and have no mesh socket.
   */
  addressCheck?: boolean
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
  /** Route computations at least this far apart (ms); default 'auto' (docs/routing.md). */
  computeSpacingMs?: number | 'auto'
}

/**
 * One event the core handled: the monotonic time it was handed over, the relay message it was
 * made from (with the relay the intake found on that channel), and the commands it answered.
 */
export interface CoreRecord { at: number, event: CoreEvent, message?: { relay: string | undefined, msg: RelayMessage }, commands: CoreCommand[] }

/**
 * The path controller: the registry of relays, link reports in, routes computed over the mesh
 * graph, table updates out in loop-free rounds, and leadership through the store.
 *
 * Every connected relay registers here, leader or standby, and sends its reports to both, so a
 * standby's graph is warm when it takes over. Only the leader computes and pushes: on election it
 * reloads what the store holds, asks every relay to re-register (so it diffs against the tables
 * relays really forward on), and pushes what changed.
 */
/**
 * The path controller daemon: the shell around the controller core (core/controller-core.ts),
 * which holds every rule. This part owns the I/O: QUIC control channels (the intake), the store
 * (reads on election, writes through StoreWriter, the version counter), the leadership lease,
 * real timers for the core's named ones, and what HTTP and metrics read. It turns each message into
 * a core event and carries out the commands that come back.
 *
 * Every connected relay registers here, leader or standby, and sends its reports to both, so a
 * standby's graph is warm when it takes over. Only the leader computes and pushes: on election it
 * reloads what the store holds, asks every relay to re-register (so it diffs against the tables
 * relays really forward on), and pushes what changed.
 */
export class Controller {
  readonly core: ControllerCore
  /** What the core was made with (a replay makes another core alike). */
  readonly coreOptions: CoreOptions
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
  private readonly intake: ControlIntake
  private readonly addressChecks: AddressChecks
  private readonly leadership: Leadership
  private readonly advertisePolicy: AdvertisePolicy
  private readonly driver: CoreDriver<CoreRecord['message']>
  private server: QuicServer | undefined
  private state: 'new' | 'running' | 'closed' = 'new'
  /** The key each channel proved, and the relay id it was listed under (identity mode only). */
  private readonly proven = new WeakMap<Channel, IdentityPeer>()
  /** The allow-list as it stands (setRelayKeys), by key and by relay id. */
  private relayOfKey = new Map<string, string>()
  private relayKeys: ReadonlyMap<string, readonly PublicIdentity[]> = new Map()
  /** This controller's identity now (setIdentity), identity mode only. */
  private own: Identity | undefined
  /** Connection numbers for the core, by channel, and back. */
  private readonly conns = new Map<Channel, number>()
  private readonly channels = new Map<number, Channel>()
  private nextConn = 1
  /** Core counters already passed on to metrics. */
  private readonly counted: Omit<CoreStats, 'computeWallMs' | 'lastComputeWallMs'> = { computations: 0, versions: 0, expired: 0 }
  private readonly topologyCache: TopologyCache
  address: HostPort | undefined

  constructor (components: ControllerComponents, init: ControllerInit) {
    this.clock = components.clock
    this.store = components.store
    this.init = init
    this.instanceId = init.instanceId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
    this.baseLog = components.logger.child({ instance: this.instanceId })
    this.log = this.baseLog.child({ component: 'controller' })
    this.coreOptions = {
      instanceId: this.instanceId,
      neighbourPolicy: init.neighbourPolicy ?? DEFAULT_NEIGHBOUR_POLICY,
      costPolicy: init.costPolicy,
      relayExpiryMs: init.relayExpiryMs ?? RELAY_EXPIRY_MS,
      computeSpacingMs: init.computeSpacingMs ?? 'auto',
      rebuildMinChanges: REBUILD_MIN_CHANGES
    }
    this.core = new ControllerCore(this.coreOptions)
    const recorder = components.recorder
    this.driver = new CoreDriver({ core: this.core, clock: this.clock }, {
      execute: (c) => { this.execute(c) },
      record: (at, event, message, commands) => {
        this.countStats()
        recorder?.({ at, event, message, commands })
      }
    })
    if (init.identity !== undefined) this.useRelayKeys(init.identity.relayKeys)
    this.advertisePolicy = new AdvertisePolicy(init.advertiseAllow)
    this.leadership = new Leadership({ clock: this.clock, store: this.store, logger: this.baseLog }, {
      owner: this.instanceId, ttlMs: init.leaseTtlMs, renewMs: init.leaseRenewMs
    })
    this.topologyCache = new TopologyCache({ clock: this.clock, graph: () => this.core.graph, version: () => this.core.version })
    this.metrics = createControllerMetrics({
      relays: () => this.core.registry.size,
      live: () => this.core.registry.liveCount,
      version: () => this.core.version,
      leader: () => this.leadership.isLeader
    })
    this.addressChecks = new AddressChecks({ clock: this.clock, logger: this.log }, {
      proven: (ch, m) => { this.registerProven(ch, m) },
      failed: (ch, m, why) => { this.intake.refuse(ch, 'bad_advertise', why) }
    })
    this.intake = new ControlIntake({ clock: this.clock, logger: this.log, metrics: this.metrics, registered: (ch) => this.relayOn(ch) }, {
      register: (ch, m) => { this.onRegister(ch, m) },
      address: (ch, nonce) => { this.addressChecks.answer(ch, nonce) },
      checking: (ch) => this.addressChecks.has(ch),
      wantKeys: (relay, ids) => { this.sendKeys(relay, ids) },
      report: (relay, report) => {
        this.metrics.reports.inc()
        this.dispatch({ type: 'report', relay, report }, { relay, msg: { type: 'report', report } })
      },
      ack: (relay, version, round) => { this.dispatch({ type: 'ack', relay, version, round }, { relay, msg: { type: 'ack', version, round } }) },
      closed: (ch, info) => {
        this.addressChecks.drop(ch)
        const conn = this.conns.get(ch)
        if (conn === undefined) return
        this.conns.delete(ch)
        this.channels.delete(conn)
        this.dispatch({ type: 'disconnect', conn, reason: info.reason, initiator: info.initiator })
      }
    })
    this.writer = new StoreWriter({ store: this.store, clock: this.clock, logger: this.baseLog }, {
      onCount: (result) => { this.metrics.storeWrites.inc({ result }) }
    })
  }

  get graph (): MeshGraph { return this.core.graph }
  get role (): 'leader' | 'standby' { return this.leadership.isLeader ? 'leader' : 'standby' }

  /**
   * What /healthz reports as `ready` (docs/http-api.md): a standby is ready while it runs (it
   * follows the lease and takes over when it lapses); a leader once it has computed tables since
   * it was elected, so a leader with no relay reporting yet is not.
   */
  get ready (): boolean {
    if (this.state !== 'running') return false
    return !this.leadership.isLeader || this.core.computedAsLeader
  }
  get tableVersion (): number { return this.core.version }

  async start (): Promise<void> {
    if (this.state !== 'new') throw new InvalidStateError('controller')
    this.state = 'running'
    this.leadership.events.on('elected', () => { void this.onElected() })
    this.leadership.events.on('deposed', () => { this.dispatch({ type: 'deposed' }) })
    const identity = this.init.identity
    const channel = controlServerChannel(this.init.meshKey)
    this.server = identity === undefined
      ? createQuicServer({
        host: this.init.control.host,
        port: this.init.control.port,
        ...channel,
        logger: this.baseLog,
        clock: this.clock,
        onChannel: (ch) => { this.intake.accept(ch) }
      })
      : createQuicServer<IdentityPeer>({
        host: this.init.control.host,
        port: this.init.control.port,
        ...channel,
        auth: identityServerAuth(() => this.own ?? identity.own, (key) => this.relayOfKey.get(key.text)),
        logger: this.baseLog,
        clock: this.clock,
        onChannel: (ch, peer) => { this.proven.set(ch, peer); this.intake.accept(ch) }
      })
    this.address = await this.server.start()
    this.dispatch({ type: 'start' })
    await this.leadership.start()
    this.log.info({ control: this.address, role: this.role, store: this.store.kind }, 'controller started')
  }

  async stop (): Promise<void> {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.dispatch({ type: 'stop' })
    this.driver.clearTimers()
    this.addressChecks.stop()
    await this.leadership.stop()
    await this.server?.stop()
  }

  /**
   * Replaces the allow-list of relay keys (identity mode; the CLI calls it on SIGHUP). A channel
   * whose key is no longer listed for its relay is closed (refused: revoked), and its key is
   * refused from then on. A relay no longer listed at all is revoked: forgotten, and routes to and
   * through it withdrawn at once. One still listed under another key (a rotation's last step) only
   * loses a channel on the old key, and comes back on its new one. Returns the ids revoked.
   */
  /**
   * Switches this controller to another identity, the middle step of a rotation of its key
   * (docs/security.md): every handshake from now on proves the new key; channels open now stay.
   * Relays must already pin both keys.
   */
  setIdentity (own: Identity): void {
    if (this.init.identity === undefined) throw new InvalidStateError('controller without --identity')
    this.own = own
  }

  setRelayKeys (keys: ReadonlyMap<string, readonly PublicIdentity[]>): string[] {
    if (this.init.identity === undefined) throw new InvalidStateError('controller without --identity')
    const before = this.relayKeys
    this.useRelayKeys(keys)
    for (const ch of [...this.conns.keys()]) {
      const peer = this.proven.get(ch)
      if (peer !== undefined && !this.listed(peer)) this.intake.refuse(ch, 'revoked', `the key relay '${peer.relayId}' proved is no longer on the allow-list (revoked)`)
    }
    const revoked = [...before.keys()].filter((id) => !keys.has(id))
    if (revoked.length > 0) this.dispatch({ type: 'revoke', relays: revoked })
    // Every relay gets what changed: their data planes drop a revoked relay's sessions at once,
    // and take a rotating relay's keys.
    const changed = [...keys].filter(([id, ks]) => {
      const old = before.get(id)
      return old !== undefined && (old.length !== ks.length || old.some((k, i) => !k.equals(ks[i])))
    })
    if (this.leadership.isLeader && (revoked.length > 0 || changed.length > 0)) {
      const msg = { keys: changed.map(([id, ks]) => [id, ks.map((k) => k.text)] as [string, string[]]), removed: revoked }
      for (const r of this.core.registry.all()) this.sendTo(r.id, { type: 'keys', fence: this.leadership.fence, ...msg })
    }
    return revoked
  }

  private useRelayKeys (keys: ReadonlyMap<string, readonly PublicIdentity[]>): void {
    this.relayKeys = keys
    this.relayOfKey = new Map([...keys].flatMap(([id, ks]) => ks.map((k) => [k.text, id] as const)))
  }

  /** Whether a channel's proven key is still listed for its relay. */
  private listed (peer: IdentityPeer): boolean {
    return this.relayKeys.get(peer.relayId)?.some((k) => k.equals(peer.key)) === true
  }

  /** The topology as GET /api/topology serves it, as objects (slow at scale: see topology()). */
  snapshot (opts: { routes: boolean } = { routes: true }): TopologySnapshot {
    return snapshotOf(this.core.graph, this.core.version, opts)
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
    return this.core.installedTables()
  }

  // Messages in.

  private relayOn (ch: Channel): string | undefined {
    const conn = this.conns.get(ch)
    return conn === undefined ? undefined : this.core.registry.ofConn(conn)?.id
  }

  private onRegister (ch: Channel, m: RegisterMessage): void {
    if (this.init.identity !== undefined) {
      const peer = this.proven.get(ch)
      if (m.id !== peer?.relayId) {
        this.intake.refuse(ch, 'wrong_identity', `register names relay '${m.id}' but this connection proved the key listed for '${peer?.relayId ?? '?'}'`)
        return
      }
      // Revoked between its handshake and this register.
      if (!this.listed(peer)) {
        this.intake.refuse(ch, 'revoked', `the key relay '${peer.relayId}' proved is no longer on the allow-list (revoked)`)
        return
      }
    }
    const badAddress = this.advertisePolicy.check(m.address, ch.remote.host)
    if (badAddress !== undefined) { this.intake.refuse(ch, 'bad_advertise', badAddress); return }
    if (this.init.addressCheck === false) this.registerProven(ch, m)
    else this.addressChecks.begin(ch, m)
  }

  /** A register whose address answered the UDP check (or that needs none): the core takes it. */
  private registerProven (ch: Channel, m: RegisterMessage): void {
    if (ch.isClosed) return
    let conn = this.conns.get(ch)
    if (conn === undefined) {
      conn = this.nextConn++
      this.conns.set(ch, conn)
      this.channels.set(conn, ch)
    }
    this.dispatch({ type: 'register', conn, relay: m.id, address: m.address, boot: m.boot, caps: m.caps, tableVersion: m.table_version, table: m.table, wallMs: this.clock.nowMs() }, { relay: this.relayOn(ch), msg: m })
  }

  private async onElected (): Promise<void> {
    this.dispatch({ type: 'elected', fence: this.leadership.fence })
    let state: (CoreEvent & { type: 'restored' })['state']
    try {
      const loaded = await loadStoredState(this.store)
      for (const { key, field, reason } of loaded.skipped) {
        this.metrics.storeCorrupt.inc({ key })
        this.log.warn({ key, field, reason }, 'skipping a corrupt value in the store')
      }
      state = { relays: loaded.relays, links: loaded.links, version: loaded.version }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not load state from the store; starting from what relays report')
    }
    if (this.state !== 'running') return
    this.dispatch({ type: 'restored', state })
  }

  // The core.

  private dispatch (event: CoreEvent, message?: CoreRecord['message']): void {
    this.driver.dispatch(event, message)
  }

  private execute (c: CoreCommand): void {
    switch (c.type) {
      case 'welcome': this.sendTo(c.relay, { type: 'welcome', role: c.role, controller: c.controller, fence: c.fence }); return
      case 'role': this.sendTo(c.relay, { type: 'role', role: c.role, fence: c.fence }); return
      case 'neighbours': this.sendTo(c.relay, { type: 'neighbours', fence: c.fence, neighbours: c.neighbours }); return
      case 'table': {
        const { relay, version, round, part } = c
        const sent = this.sendTo(relay, { type: 'table', fence: c.fence, version, round, upserts: upsertsToWire(part.upserts), removals: part.removals })
        if (!sent) this.dispatch({ type: 'undelivered', relay, version, round })
        return
      }
      case 'refuse': {
        const ch = this.channels.get(c.conn)
        if (ch !== undefined) this.intake.refuse(ch, c.metric, c.reason)
        return
      }
      case 'replace': void this.channels.get(c.conn)?.close(c.reason); return
      case 'hset': this.writer.hset(c.key, c.field, typeof c.value === 'string' ? c.value : JSON.stringify(c.value)); return
      case 'hdel':
        this.store.hdel(c.key, c.field).catch((err: Error) => { this.log.warn({ err: err.message }, 'could not forget an expired relay in the store') })
        return
      case 'reserve-version':
        this.store.incr(Keys.topologyVersion).then((value) => { this.dispatch({ type: 'version', value }) }, (err: Error) => {
          this.log.error({ err: err.message }, 'route computation failed')
          this.dispatch({ type: 'version', value: -1 })
        })
        return
      case 'log': this.log[c.level](c.fields, c.msg)
    }
  }

  /** Identity mode: the keys of relays `ids` (those not admitted as removed), to one relay that asked. */
  private sendKeys (relay: string, ids: string[]): void {
    if (this.init.identity === undefined || !this.leadership.isLeader) return
    const keys: Array<[string, string[]]> = []
    const removed: string[] = []
    for (const id of new Set(ids)) {
      const ks = this.relayKeys.get(id)
      if (ks === undefined) removed.push(id)
      else keys.push([id, ks.map((k) => k.text)])
    }
    this.sendTo(relay, { type: 'keys', fence: this.leadership.fence, keys, removed })
  }

  private sendTo (relay: string, msg: ControllerWireMessage): boolean {
    const conn = this.core.registry.get(relay)?.conn
    const ch = conn === undefined ? undefined : this.channels.get(conn)
    if (ch === undefined || ch.isClosed) return false
    return sendQuietly(ch, msg, (err) => { this.log.debug({ relayId: relay, err: err.message }, 'control send failed') })
  }

  /** Passes what the core counted since the last event on to the metrics. */
  private countStats (): void {
    const s = this.core.stats
    const c = this.counted
    if (s.computations > c.computations) {
      this.metrics.computations.inc(s.computations - c.computations)
      this.metrics.computeSeconds.observe(s.lastComputeWallMs / 1000)
    }
    if (s.versions > c.versions) this.metrics.rollouts.inc(s.versions - c.versions)
    if (s.expired > c.expired) this.metrics.expired.inc(s.expired - c.expired)
    c.computations = s.computations
    c.versions = s.versions
    c.expired = s.expired
  }
}
