import type dgram from 'node:dgram'
import type { Server } from 'node:http'
import type { Registry } from 'prom-client'
import { microsOf, type Clock, type Timer } from '../src/clock.js'
import { ConfigError, InvalidStateError } from '../src/errors.js'
import { parsePublicKey, type Identity, type PublicIdentity } from '../src/identity.js'
import type { Logger } from '../src/logging.js'
import { formatHostPort, type HostPort } from '../src/transport/address.js'
import { bindUdp, closeUdp, createUdpSocket, DEFAULT_SOCKET_BUFFER } from '../src/transport/udp.js'
import { randomBytes } from 'node:crypto'
import { IdentityKeyBook, MeshKeyBook, type KeyBook } from '../src/wire/keys.js'
import { PacketType, Service } from '../src/wire/constants.js'
import { encodeFeedback, feedbackLength } from '../src/wire/feedback.js'
import { Prober, type Neighbour } from '../prober/prober.js'
import { Reporter, type LinkReport } from '../prober/reporter.js'
import type { LinkMonitorOptions } from '../prober/link-monitor.js'
import { Originator } from '../src/wire/originator.js'
import { relayNumber } from '../src/wire/relay-id.js'
import { Reason, REASON_NAMES } from '../src/wire/reasons.js'
import { DataPlane } from './data-plane.js'
import { RecoveryPlane, type RecoveryInit } from './recovery/recovery-plane.js'
import { RelayMesh } from './mesh-endpoint.js'
import { checkEmulationHttp, EmulationAuth } from './emulation-auth.js'
// Loaded by the modes that use them (QUIC and zod, prom-client), not by every relay: docs/performance.md.
import type { LinkEmulation } from './http-server.js'
import type { ControlClient } from './control-client.js'
import { ForwardingTable, type IdRoute } from './forwarding-table.js'
import type { LinkEmulator } from './link-emulator.js'
import type { StateSaver } from './state-file.js'
import { staticRoutes, type StaticMesh } from './static-mesh.js'
import type { TunnelSpec } from './tunnel/spec.js'
import { TunnelService } from './tunnel/tunnel-service.js'
import type { TunnelLimits } from './tunnel/types.js'

/** A relay's keys are asked of the controller at most this often. */
const KEY_ASK_MS = 1000

/** How often the data plane repeats unanswered session HELLOs. */
const TICK_MS = 250
/** While per-hop recovery has gaps to ask for or packets to see acknowledged, it runs this often (ms). */
const RECOVERY_TICK_MS = 2

/** A boot id: random, non-zero (docs/wire.md, "Sessions"). */
export function newBootId (): number {
  for (;;) {
    const b = randomBytes(4).readUInt32BE(0)
    if (b !== 0) return b
  }
}

export interface RelayComponents {
  clock: Clock
  logger: Logger
}

export interface RelayInit {
  id: string
  listen: HostPort
  meshKey: Uint8Array
  /** Routes come from this file (static mode). Exactly one of staticMesh and controllers. */
  staticMesh?: StaticMesh
  /** Controllers to follow (controller mode): a leader and its standbys. */
  controllers?: HostPort[]
  /** Authenticate the control channel by identities (ControlClientInit.identity) instead of the mesh key. */
  identity?: { own: Identity, controllerKeys: Array<PublicIdentity | PublicIdentity[]> }
  /** The address other relays reach this relay at; default: the bound --listen address. */
  advertise?: HostPort
  /** Keep the last tables here, and start from them (controller mode). */
  stateFile?: string
  http?: HostPort
  tunnels?: TunnelSpec[]
  egressAllow?: string[]
  /** --tunnel-allow-source: who may send into this relay's tunnels (default loopback). */
  tunnelAllowSource?: string[]
  tunnelLimits?: Partial<TunnelLimits>
  /** Mesh socket buffer size in bytes. */
  socketBuffer?: number
  /** Probe schedule overrides (interval, quick-retry interval, …). */
  probe?: Partial<LinkMonitorOptions>
  /** Link report interval (ms). */
  reportIntervalMs?: number
  /** Impairs sends per peer address (tests, simulation). */
  linkEmulator?: LinkEmulator
  /** With linkEmulator and a loopback http: serve POST /emulation/links to holders of this token. */
  emulationToken?: string
  /** Switch to backup next hops when a link goes down (default true; off only for measurement). */
  fastReroute?: boolean
  /** Per-hop recovery (docs/recovery.md): options, or false for none. Default on, with the default budgets. */
  recovery?: RecoveryInit | false
}

/**
 * The relay daemon: one UDP socket on --listen for all mesh traffic, the data plane behind it, the
 * tunnel service, and the HTTP endpoint. start() and stop() bracket its life; stop() is idempotent.
 */
export class Relay {
  readonly id: string
  readonly number: number
  readonly plane: DataPlane
  /** What hosted services see of this relay (docs/mesh-service.md). */
  readonly mesh: RelayMesh
  readonly tunnels: TunnelService
  /** The relay's metrics; made when --http serves them. */
  registry: Registry | undefined
  readonly prober: Prober
  /** The most recent link report this relay produced. */
  lastReport: LinkReport | undefined
  private readonly reporter: Reporter
  private readonly clock: Clock
  private readonly log: Logger
  /** The relay's logger without a component, for sub-components to add their own. */
  private readonly baseLog: Logger
  private readonly init: RelayInit
  private readonly originator: Originator
  private readonly socket: dgram.Socket
  readonly forwarding: ForwardingTable
  private control: ControlClient | undefined
  private saver: StateSaver | undefined
  private http: Server | undefined
  private tickTimer: Timer | undefined
  /** Per-hop recovery; undefined when switched off. */
  readonly recovery: RecoveryPlane | undefined
  private recoveryTimer: Timer | undefined
  /** Identity mode: ids whose keys are to be asked for, and when each relay was last asked for. */
  private readonly wanted = new Set<string>()
  private readonly askedAt = new Map<number, number>()
  /** Identity mode: the data plane's key book, fed by the controller's keys messages. */
  private readonly identityBook: IdentityKeyBook | undefined
  private readonly emulation: LinkEmulation | undefined
  private state: 'new' | 'running' | 'closed' = 'new'
  /** Every socket is bound (set at the end of start()). */
  private bound = false
  /** Controller mode: a table came from a controller or from the state file. */
  private hasTables = false
  /** The bound mesh address (port resolved when --listen asked for 0). */
  address: HostPort | undefined
  httpAddress: HostPort | undefined

  constructor (components: RelayComponents, init: RelayInit) {
    this.clock = components.clock
    this.init = init
    this.id = init.id
    this.number = relayNumber(init.id)
    // Sub-components add their own `component` field to this base.
    const base = components.logger.child({ relayId: init.id })
    this.baseLog = base
    this.log = base.child({ component: 'relay' })
    const boot = newBootId()
    this.originator = new Originator({ src: this.number, boot, micros: microsOf(this.clock) })
    this.socket = createUdpSocket({ family: init.listen.family, bufferBytes: init.socketBuffer })
    const meshSocket = init.linkEmulator === undefined ? this.socket : init.linkEmulator.wrap(this.socket, () => { this.plane.countDrop(Reason.QUEUE_FULL) })
    // With identities, the data plane admits the relays the controller lists (onKeys); else every
    // holder of the mesh key.
    this.identityBook = init.identity === undefined ? undefined : new IdentityKeyBook(this.number, init.identity.own)
    const book: KeyBook = this.identityBook ?? new MeshKeyBook(this.number, init.meshKey)
    if (this.identityBook !== undefined && init.staticMesh !== undefined) this.identityBook.setPeers(staticKeys(init.staticMesh, init.id, this.identityBook.own))
    if (this.identityBook !== undefined && init.staticMesh === undefined) this.identityBook.onWant = (peer) => { this.wantKey(peer) }
    this.plane = new DataPlane(book, meshSocket, { self: this.number, boot, nowMs: this.clock.monoMs })
    this.plane.clearPayloads = process.env.RELAYMESH_TEST_CLEAR_PAYLOADS === '1'
    if (init.recovery !== false) {
      const plane = this.plane
      this.recovery = new RecoveryPlane({
        rttOf: (peer) => this.prober.rttOf(peer),
        sendFeedback: (peer, fb) => {
          const buf = this.originator.begin(PacketType.FEEDBACK, peer, Service.LINK, 0, 0, 0, feedbackLength(fb.missing.length), 1)
          encodeFeedback(buf, fb.highest, fb.missing)
          plane.sendDirect(buf)
        },
        resend: (peer, buf) => plane.resend(peer, buf),
        failed: () => { plane.countDrop(Reason.UNRECOVERABLE) },
        unrecoverable: (_peer, n) => { plane.counters.dropped[Reason.UNRECOVERABLE] += n },
        wake: this.wakeRecovery
      }, init.recovery)
      plane.recovery = this.recovery
    }
    this.mesh = new RelayMesh({ plane: this.plane, originator: this.originator, logger: base }, { id: init.id })
    if ((init.staticMesh === undefined) === (init.controllers === undefined || init.controllers.length === 0)) {
      throw new ConfigError('give either --static FILE or at least one --controller HOST:PORT')
    }
    this.forwarding = new ForwardingTable({ logger: base }, (routes) => {
      this.plane.setRoutes(routes)
      this.plane.setNeighbours(this.forwarding.neighbourAddresses())
      // Controller mode: the live relays are those the tables route to. A link going down changes
      // routes, not the set, and replace() then changes nothing.
      if (init.staticMesh === undefined) this.mesh.relays.replace([init.id, ...this.forwarding.entries().keys()])
    }, { fastReroute: init.fastReroute })
    if (init.linkEmulator !== undefined && init.emulationToken !== undefined && init.http !== undefined) {
      checkEmulationHttp(init.http)
      const forwarding = this.forwarding
      this.emulation = {
        emulator: init.linkEmulator,
        auth: new EmulationAuth(init.emulationToken),
        neighbourAt: (to) => {
          const address = formatHostPort(to)
          return forwarding.neighbourList().find((n) => n.address === address)?.id
        }
      }
    }
    const o = this.originator
    const plane = this.plane
    const mesh = init.staticMesh
    const tunnels = (init.tunnels ?? []).map((spec) => {
      if (mesh !== undefined && !mesh.relays.has(spec.dstRelay)) {
        throw new ConfigError(`--tunnel '${spec.text}' sends to relay '${spec.dstRelay}', which is not in the static mesh file; fix the relay id or add the relay`)
      }
      return { spec, dst: relayNumber(spec.dstRelay) }
    })
    this.tunnels = new TunnelService({ mesh: this.mesh, clock: this.clock, logger: base }, {
      tunnels, egressAllow: init.egressAllow, allowSource: init.tunnelAllowSource, limits: init.tunnelLimits
    })
    let neighbours: Neighbour[] = []
    if (mesh !== undefined) {
      this.mesh.relays.replace(mesh.relays.keys())
      neighbours = this.forwarding.setNeighbours((mesh.neighbours.get(init.id) ?? []).map((id) => {
        const r = mesh.relays.get(id)
        if (r === undefined) throw new ConfigError(`neighbour '${id}' is not in the static mesh file`)
        return { id, address: `${r.family === 6 ? `[${r.host}]` : r.host}:${r.port}` }
      }))
      const byNumber = new Map([...mesh.relays.entries()].map(([id, r]) => [r.number, id]))
      const table = new Map<string, IdRoute>()
      for (const r of staticRoutes(mesh, init.id)) {
        table.set(byNumber.get(r.dst) as string, { nextHop: r.nextHop.id, backup: r.backup?.id ?? null })
      }
      this.forwarding.replace(table, 0)
    }
    this.prober = new Prober({
      clock: this.clock,
      logger: base,
      transport: {
        begin: (type, dst, len) => o.begin(type, dst, Service.LINK, 0, 0, 0, len, 1),
        send: (buf, host, port) => { plane.sendDirect(buf, host, port) },
        countDrop: (r) => { plane.countDrop(r) }
      }
    }, { neighbours, monitor: init.probe })
    this.plane.setLinkHandler(this.prober.handle)
    this.prober.events.on('linkdown', (peer) => { this.forwarding.linkDown(peer) })
    this.prober.events.on('linkup', (peer) => { this.forwarding.linkUp(peer) })
    this.reporter = new Reporter({ clock: this.clock }, {
      relay: init.id,
      source: () => this.prober.status(),
      sink: (r) => {
        this.lastReport = r
        this.control?.sendReport(r)
        if (r.trigger !== 'schedule') this.log.info({ report: r }, 'link report')
        else this.log.debug({ report: r }, 'link report')
      },
      policy: init.reportIntervalMs === undefined ? undefined : { intervalMs: init.reportIntervalMs }
    })
  }

  /**
   * What /healthz reports as `ready` (docs/http-api.md): running with every socket bound, and with
   * routes to forward on: the static mesh's, or a table from a controller or the state file.
   */
  get ready (): boolean {
    return this.state === 'running' && this.bound && (this.init.staticMesh !== undefined || this.hasTables)
  }

  /**
   * Static mode on identities: takes the relays' keys from a re-read static mesh file (the CLI
   * calls it on SIGHUP). A relay whose key left the file is revoked: its sessions go at once.
   * Only the keys are taken; relays and links stay as they were at start.
   */
  setStaticKeys (mesh: StaticMesh): void {
    if (this.identityBook === undefined || this.init.staticMesh === undefined) throw new ConfigError('this relay is not a static relay on --identity')
    this.identityBook.setPeers(staticKeys(mesh, this.id, this.identityBook.own))
    this.plane.rekey()
  }

  /** Pins other controller keys (ControlClient.setControllerKeys): a step of a controller's key rotation. */
  setControllerKeys (keys: Array<PublicIdentity | PublicIdentity[]>): void {
    if (this.control === undefined) throw new ConfigError('this relay has no controller to pin')
    this.control.setControllerKeys(keys)
  }

  /** Switches the control channel to another identity (ControlClient.setIdentity); the CLI calls it on SIGHUP. */
  setIdentity (own: Identity): void {
    if (this.init.identity === undefined || this.identityBook === undefined) throw new ConfigError('this relay has no --identity to switch')
    this.identityBook.setOwn(own)
    this.plane.rekey(true)
    this.control?.setIdentity(own)
  }

  private readonly wakeRecovery = (): void => {
    if (this.recoveryTimer !== undefined || this.state !== 'running') return
    this.recoveryTimer = this.clock.setTimeout(this.runRecovery, RECOVERY_TICK_MS)
  }

  private readonly runRecovery = (): void => {
    this.recoveryTimer = undefined
    if ((this.recovery as RecoveryPlane).tick(this.clock.monoMs())) this.wakeRecovery()
  }

  async start (): Promise<void> {
    if (this.state !== 'new') throw new InvalidStateError(`relay '${this.id}'`)
    this.state = 'running'
    try {
      await this.startParts()
    } catch (err) {
      // A half-started relay (say its --http port was taken) must not linger on its sockets and
      // control channels: undo what started, then report the error.
      await this.stop()
      throw err
    }
  }

  private async startParts (): Promise<void> {
    const plane = this.plane
    this.socket.on('message', (msg, rinfo) => { plane.receive(msg, rinfo.address, rinfo.port) })
    // A UDP socket error (ICMP unreachable from a peer that went away, a full buffer) is not fatal.
    this.socket.on('error', (err) => { this.log.warn({ err: err.message }, 'mesh socket error') })
    this.address = await bindUdp(this.socket, this.init.listen)
    plane.start()
    // Linux reports twice what it granted; less than asked means net.core.rmem_max capped it.
    const wanted = this.init.socketBuffer ?? DEFAULT_SOCKET_BUFFER
    if (this.socket.getRecvBufferSize() < wanted) this.log.warn({ wanted, granted: this.socket.getRecvBufferSize() }, 'the kernel capped the mesh socket buffer, so a pause of a few ms can overflow it; raise net.core.rmem_max and net.core.wmem_max (docs/performance.md)')
    if (this.init.controllers !== undefined && this.init.controllers.length > 0) await this.startControl(this.init.controllers)
    await this.tunnels.start()
    this.prober.start()
    this.reporter.start()
    this.tickTimer = this.clock.setInterval(() => { this.plane.tick() }, TICK_MS)
    if (this.init.http !== undefined) {
      const { createRelayRegistry, registerControlMetrics, registerLinkMetrics, registerRecoveryMetrics } = await import('../src/metrics.js')
      const { startRelayHttp } = await import('./http-server.js')
      this.registry = createRelayRegistry(() => this.plane.counters)
      registerLinkMetrics(this.registry, () => this.prober.status())
      const recovery = this.recovery
      if (recovery !== undefined) registerRecoveryMetrics(this.registry, () => recovery.counters)
      if (this.control !== undefined) {
        const control = this.control
        registerControlMetrics(this.registry, () => ({ skippedEntries: control.skippedEntries, staleFence: control.staleFenceDrops }))
      }
      const { server, bound } = await startRelayHttp(this.init.http, this.registry, this.log, this.emulation, () => this.ready)
      this.http = server
      this.httpAddress = bound
    }
    this.bound = true
    this.log.info({
      listen: this.address,
      http: this.httpAddress,
      tunnels: this.tunnels.ingress.map((t) => ({ spec: t.spec.text, listen: t.bound }))
    }, 'relay started')
  }

  /** Controller mode: resume from the state file if there is one, then follow the controllers. */
  private async startControl (controllers: HostPort[]): Promise<void> {
    const file = this.init.stateFile
    if (file !== undefined) {
      const { loadState, StateSaver } = await import('./state-file.js')
      const saved = await loadState(file, this.id, this.log, this.clock.nowMs)
      if (saved !== undefined) {
        this.prober.setNeighbours(this.forwarding.setNeighbours(saved.neighbours))
        this.forwarding.replace(saved.table, saved.tableVersion)
        this.hasTables = true
        this.log.info({ stateFile: file, tableVersion: saved.tableVersion, routes: saved.table.size }, 'forwarding on saved tables until a controller answers')
      }
      this.saver = new StateSaver({ clock: this.clock, logger: this.baseLog }, {
        path: file,
        snapshot: () => ({ relay: this.id, tableVersion: this.forwarding.version, table: this.forwarding.entries(), neighbours: this.forwarding.neighbourList() })
      })
    }
    const advertise = this.init.advertise ?? this.address as HostPort
    const { ControlClient } = await import('./control-client.js')
    this.control = new ControlClient({ clock: this.clock, logger: this.baseLog }, {
      id: this.id, advertise, controllers, meshKey: Buffer.from(this.init.meshKey), identity: this.init.identity
    }, {
      current: () => ({ version: this.forwarding.version, table: this.forwarding.entries() }),
      onNeighbours: (list) => {
        this.prober.setNeighbours(this.forwarding.setNeighbours(list))
        // sim/process/mesh.ts watches for this line to send link emulation settings for new neighbours.
        this.log.info({ neighbours: list.map((n) => n.id) }, 'neighbours set by the controller')
        this.saver?.changed()
      },
      onKeys: (keys, removed) => { this.admit(keys, removed) },
      onTable: (m) => {
        this.forwarding.update(m.upserts, m.removals, m.version)
        this.hasTables = true
        this.saver?.changed()
      }
    })
    const control = this.control
    this.plane.addressCheck = (nonce) => { control.answerAddressCheck(nonce) }
    this.control.start()
  }

  /** Identity mode: how many keys the data plane admits for relay `id` (0: not admitted); for tests and inspection. */
  admittedKeys (id: string): number { return this.identityBook?.secrets(relayNumber(id)).length ?? 0 }

  /**
   * Identity mode, controller mode: the key book wants a relay's keys. Asked of the controller in
   * one batch per turn of the event loop, each relay at most once per KEY_ASK_MS. The id comes
   * from the forwarding table or the neighbours (the header carries only numbers).
   */
  private wantKey (peer: number): void {
    const control = this.control
    if (control === undefined) return
    const now = this.clock.monoMs()
    if (now - (this.askedAt.get(peer) ?? -Infinity) < KEY_ASK_MS) return
    // Numbers from forged headers count too, but never grow this past a bound.
    if (this.askedAt.size >= 65536) this.askedAt.clear()
    this.askedAt.set(peer, now)
    const id = this.forwarding.idOf(peer)
    if (id === undefined) return
    this.wanted.add(id)
    if (this.wanted.size === 1) {
      setImmediate(() => {
        const ids = [...this.wanted]
        this.wanted.clear()
        control.wantKeys(ids)
      })
    }
  }

  /** Identity mode: relays' keys from the controller (upserts, and relays no longer admitted). */
  private admit (keys: Array<[string, string[]]>, removed: string[]): void {
    const book = this.identityBook
    if (book === undefined) return
    const upserts = new Map<number, PublicIdentity[]>()
    for (const [id, texts] of keys) {
      try {
        upserts.set(relayNumber(id), texts.map((t, i) => parsePublicKey(t, `keys from the controller: '${id}' key ${i + 1}`)))
      } catch (err) {
        this.log.warn({ relay: id, err: (err as Error).message }, 'skipping a relay whose key from the controller does not parse')
      }
    }
    const gone = removed.map(relayNumber)
    book.update(upserts, gone)
    this.plane.rekey()
    // Neighbours whose keys just came get their link sessions; waiting packets go on.
    this.plane.setNeighbours(this.forwarding.neighbourAddresses())
    this.plane.releaseKeyWait(gone)
    this.log.info({ keys: upserts.size, removed }, 'relay keys from the controller')
  }

  async stop (): Promise<void> {
    if (this.state === 'closed') return
    const wasRunning = this.state === 'running'
    this.state = 'closed'
    await this.control?.stop()
    await this.saver?.flush()
    this.reporter.stop()
    this.prober.stop()
    if (this.tickTimer !== undefined) this.clock.clearTimer(this.tickTimer)
    if (this.recoveryTimer !== undefined) this.clock.clearTimer(this.recoveryTimer)
    this.tunnels.stop()
    this.init.linkEmulator?.close()
    closeUdp(this.socket)
    if (this.http !== undefined) {
      // Loaded with the server in start(): a relay without --http never loads src/http.ts.
      const { closeHttp } = await import('../src/http.js')
      await closeHttp(this.http)
    }
    if (wasRunning) this.log.info({ counters: this.summary() }, 'relay stopped')
  }

  /** Counters as a plain object, for logs and tests. */
  summary (): Record<string, number> {
    const c = this.plane.counters
    const out: Record<string, number> = { received: c.received, forwarded: c.forwarded, originated: c.originated }
    for (let i = 1; i < REASON_NAMES.length; i++) out[`dropped_${REASON_NAMES[i]}`] = c.dropped[i]
    for (const [svc, n] of c.delivered) out[`delivered_${svc}`] = n
    return out
  }
}

/**
 * The keys of a static mesh file, by relay number, for a relay on `own` identity. Throws
 * ConfigError when the file has no keys, a key does not parse, or this relay's own entry is not
 * its identity's public key.
 */
function staticKeys (mesh: StaticMesh, self: string, own: Identity): Map<number, PublicIdentity[]> {
  const peers = new Map<number, PublicIdentity[]>()
  for (const r of mesh.relays.values()) {
    if (r.keys === undefined) throw new ConfigError(`--identity with --static needs every relay's public key in the static mesh file ("key": "rmpub1:…"); '${r.id}' has none (docs/static-mesh.md)`)
    let keys: PublicIdentity[]
    try {
      keys = r.keys.map((k, i) => parsePublicKey(k, `static mesh file: relay '${r.id}' key ${i + 1}`))
    } catch (err) {
      throw new ConfigError((err as Error).message)
    }
    if (r.id === self && !keys.some((k) => k.equals(own.public))) throw new ConfigError(`static mesh file: relay '${self}' does not list the public key of --identity; put ${own.public.text} in its "key"`)
    peers.set(r.number, keys)
  }
  return peers
}
