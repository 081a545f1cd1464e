import { randomBytes } from 'node:crypto'
import type { Clock, Timer } from '../src/clock.js'
import {
  CONTROL_PROTOCOL_VERSION, MAX_WANTED_KEYS, parseControllerMessage, type ControlLinkReport, type KeysMessage, type NeighbourEntry,
  type RelayWireMessage, type TableMessage
} from '../src/control/messages.js'
import { controlClientChannel } from '../src/control/control-channel.js'
import { identityClientAuth } from '../src/control/identity-auth.js'
import { RECONNECT_MAX_MS, RECONNECT_MIN_MS } from '../src/control/constants.js'
import { reportToWire } from '../src/control/report-codec.js'
import { tableToWire, upsertsToWire } from '../src/control/table-codec.js'
import { ErrorCode, RelaymeshError } from '../src/errors.js'
import type { Identity, PublicIdentity } from '../src/identity.js'
import type { Logger } from '../src/logging.js'
import { formatHostPort, type HostPort } from '../src/transport/address.js'
import { connectQuic } from '../src/transport/quic/client.js'
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from '../src/transport/quic/constants.js'
import type { Channel } from '../src/transport/quic/types.js'
import type { IdRoute } from './forwarding-table.js'

/**
 * How long a relay waits for a controller's QUIC handshake (ms). Enough for a lost Initial to be
 * sent again (quiche's first probe timeout is about 1 s) and for the stateless retry's extra round
 * trip across continents; a dead controller is noticed no later than this. Once the QUIC handshake
 * is done the controller is alive, and the authentication after it gets DEFAULT_HANDSHAKE_TIMEOUT_MS
 * of its own. Both used to share 1 s: two more round trips over a 300 ms path, or a controller
 * busy with a thousand relays joining, left the identity handshake a few ms, and the relay gave up
 * on a controller that was about to take it (bench:controller logged hundreds of these).
 */
export const CONNECT_TIMEOUT_MS = 3_000
/**
 * After this long with no leader to follow, a relay accepts a lower fencing number again. A
 * deposed leader notices within about a second (its lease renewal fails), so by then a lower
 * number can only mean the numbering went back (a controller on the in-memory store restarted with
 * its clock stepped back): without this, the relay would ignore every controller until it restarts.
 */
export const FENCE_FORGET_MS = 10_000
/** A controller refusing this relay over and over is logged as an error at most this often (ms). */
export const REFUSAL_LOG_MS = 60_000

/** Address checks answered per second at most (answerAddressCheck). */
const ADDRESS_ANSWERS_PER_S = 20

/** What the client needs of the relay. */
export interface ControlHandlers {
  /** The table the relay forwards on now, sent with every register. */
  current: () => { version: number, table: Map<string, IdRoute> }
  onNeighbours: (list: NeighbourEntry[]) => void
  onTable: (msg: TableMessage) => void
  /** Identity mode: relays' public keys (KeysMessage): upserts, and relays no longer admitted. */
  onKeys?: (keys: KeysMessage['keys'], removed: string[]) => void
}

export interface ControlClientInit {
  id: string
  /** The address other relays reach this relay's mesh socket at. */
  advertise: HostPort
  controllers: HostPort[]
  meshKey: Buffer
  /**
   * Security v2's control channel (docs/security.md): this relay proves `own`, and each controller
   * must prove a key pinned for it (one of `controllerKeys[i]` for `controllers[i]`: more than
   * one while that controller's key rolls over). Without it the
   * channel is authenticated by the mesh key.
   */
  identity?: { own: Identity, controllerKeys: Array<PublicIdentity | PublicIdentity[]> }
  caps?: string[]
  /** FENCE_FORGET_MS by default. */
  fenceForgetMs?: number
}

interface Link {
  addr: HostPort
  name: string
  channel: Channel | undefined
  role: 'leader' | 'standby' | 'unknown'
  backoffMs: number
  timer: Timer | undefined
  /** The channel type and its authentication toward this controller. */
  options: ReturnType<typeof controlClientChannel>
  /** The last refusal logged as an error, when, and how many times it came again since. */
  refusal: string | undefined
  refusalLoggedAt: number
  refusalRepeats: number
}

/**
 * Keeps a control channel to every configured controller and follows the one that holds the
 * leadership lease: tables and neighbour sets are taken only from a controller whose latest word
 * was "leader". Reports go to all of them, so a standby's view is warm when it takes over. Each
 * link reconnects on its own with backoff capped at RECONNECT_MAX_MS.
 *
 * While no controller is reachable nothing changes on the relay: it keeps forwarding on its last
 * tables (fail-static).
 */
export class ControlClient {
  /** Random per process: lets a controller tell our reconnect from another relay using our id. */
  readonly boot = randomBytes(12).toString('hex')
  private readonly clock: Clock
  private readonly log: Logger
  private readonly baseLog: Logger
  private init: ControlClientInit
  private readonly handlers: ControlHandlers
  private readonly links: Link[]
  private answerWindowStart = -Infinity
  private answers = 0
  private leader: Link | undefined
  /** The highest leadership fencing number seen; a leader's word with a lower one is stale. */
  private fence = 0
  /** monoMs when the relay last stopped following a leader (or started). */
  private leaderlessSince: number
  /** Controller messages ignored for a fencing number below `fence` (a deposed leader's). */
  staleFenceDrops = 0
  private running = false
  /**
   * Entries taken out of controller messages because a relay id or address in them was invalid
   * (src/control/messages.ts); the rest of each message applied. Exported as a metric.
   */
  skippedEntries = 0

  constructor (components: { clock: Clock, logger: Logger }, init: ControlClientInit, handlers: ControlHandlers) {
    if (init.controllers.length === 0) throw new TypeError('at least one controller address is required')
    if (init.identity !== undefined && init.identity.controllerKeys.length !== init.controllers.length) {
      throw new TypeError(`one pinned key per controller: ${init.controllers.length} controllers, ${init.identity.controllerKeys.length} keys`)
    }
    this.clock = components.clock
    this.baseLog = components.logger
    this.log = components.logger.child({ component: 'control-client' })
    this.init = init
    this.handlers = handlers
    this.leaderlessSince = this.clock.monoMs()
    const channel = controlClientChannel(init.meshKey)
    const identity = init.identity
    this.links = init.controllers.map((addr, i) => ({
      addr,
      name: formatHostPort(addr),
      channel: undefined,
      role: 'unknown',
      backoffMs: RECONNECT_MIN_MS,
      timer: undefined,
      options: identity === undefined ? channel : { ...channel, auth: identityClientAuth(identity.own, identity.controllerKeys[i]) },
      refusal: undefined,
      refusalLoggedAt: 0,
      refusalRepeats: 0
    }))
  }

  /**
   * Switches this relay to another identity, the middle step of a key rotation (docs/security.md):
   * each controller's channel is closed and reopened with the new key, which the controller must
   * already list. Tables are kept meanwhile, as for any reconnect.
   */
  setIdentity (own: Identity): void {
    const identity = this.init.identity
    if (identity === undefined) throw new TypeError('this control client authenticates by the mesh key, not an identity')
    this.init = { ...this.init, identity: { ...identity, own } }
    this.reauth('switching to a new identity key')
    this.log.info({ key: own.public.text.slice(0, 24) }, 'identity switched: reconnecting to the controllers with the new key')
  }

  /**
   * Pins other controller keys (one list per controller, in order): a step of a controller's key
   * rotation (docs/security.md). Each channel is closed and reopened, so that each controller
   * proves a key pinned now.
   */
  setControllerKeys (keys: Array<PublicIdentity | PublicIdentity[]>): void {
    const identity = this.init.identity
    if (identity === undefined) throw new TypeError('this control client authenticates by the mesh key, not an identity')
    if (keys.length !== this.links.length) throw new TypeError(`one pinned key (or list) per controller: ${this.links.length} controllers, ${keys.length} given`)
    this.init = { ...this.init, identity: { ...identity, controllerKeys: keys } }
    this.reauth('the pinned controller keys changed')
    this.log.info({ keys: keys.map((k) => (Array.isArray(k) ? k : [k]).length) }, 'controller keys re-pinned: reconnecting to the controllers')
  }

  /** New handshake options on every link; a channel open now is closed, and its 'close' handler reconnects. */
  private reauth (why: string): void {
    const identity = this.init.identity as NonNullable<ControlClientInit['identity']>
    this.links.forEach((l, i) => {
      l.options = { ...l.options, auth: identityClientAuth(identity.own, identity.controllerKeys[i]) }
      if (l.channel !== undefined) void l.channel.close(why)
    })
  }

  /** The controller this relay follows now, if any. */
  get leaderAddress (): string | undefined { return this.leader?.name }
  get connected (): number { return this.links.filter((l) => l.channel !== undefined).length }

  start (): void {
    if (this.running) return
    this.running = true
    for (const l of this.links) void this.connect(l)
  }

  async stop (): Promise<void> {
    this.running = false
    await Promise.all(this.links.map(async (l) => {
      if (l.timer !== undefined) this.clock.clearTimer(l.timer)
      l.timer = undefined
      await l.channel?.close('relay shutting down')
    }))
  }

  /**
   * A controller's UDP address check reached the mesh socket: sends its nonce back on every
   * channel (the one whose check it is takes it). At most ADDRESS_ANSWERS_PER_S a second, so
   * datagrams forged to look like checks cost the control channel little.
   */
  answerAddressCheck (nonce: Buffer): void {
    const now = this.clock.monoMs()
    if (now - this.answerWindowStart >= 1000) { this.answerWindowStart = now; this.answers = 0 }
    if (++this.answers > ADDRESS_ANSWERS_PER_S) return
    const msg: RelayWireMessage = { type: 'address', nonce: nonce.toString('base64') }
    for (const l of this.links) this.send(l, msg)
  }

  /** Identity mode: asks the controllers for these relays' public keys (the leader answers). */
  wantKeys (ids: string[]): void {
    for (let i = 0; i < ids.length; i += MAX_WANTED_KEYS) {
      const msg: RelayWireMessage = { type: 'want_keys', ids: ids.slice(i, i + MAX_WANTED_KEYS) }
      for (const l of this.links) this.send(l, msg)
    }
  }

  sendReport (report: ControlLinkReport): void {
    const wire = reportToWire(report)
    for (const l of this.links) this.send(l, { type: 'report', report: wire })
  }

  private send (l: Link, msg: RelayWireMessage): void {
    const ch = l.channel
    if (ch === undefined || ch.isClosed) return
    const fail = (err: Error): void => { this.log.debug({ controller: l.name, err: err.message }, 'control send failed') }
    // A channel that is closing may throw rather than reject: either way the link retries.
    try { ch.send(msg).catch(fail) } catch (err) { fail(err as Error) }
  }

  private register (l: Link): void {
    const cur = this.handlers.current()
    this.send(l, {
      type: 'register',
      protocol: CONTROL_PROTOCOL_VERSION,
      id: this.init.id,
      address: formatHostPort(this.init.advertise),
      boot: this.boot,
      caps: this.init.caps ?? ['forward', 'tunnel'],
      table_version: cur.version,
      table: upsertsToWire(tableToWire(cur.table))
    })
  }

  private async connect (l: Link): Promise<void> {
    l.timer = undefined
    if (!this.running) return
    let ch: Channel
    try {
      ch = await connectQuic({
        host: l.addr.host,
        port: l.addr.port,
        ...l.options,
        logger: this.baseLog,
        clock: this.clock,
        timeoutMs: CONNECT_TIMEOUT_MS,
        authTimeoutMs: DEFAULT_HANDSHAKE_TIMEOUT_MS
      })
    } catch (err) {
      // RM_ERR_MESH_KEY: the keys differ; RM_ERR_AUTH: another kind of QUIC server listens there,
      // or an identity was refused. Retried every second: the same refusal is logged as an error
      // once, then again at most every REFUSAL_LOG_MS, so the log says it without filling up.
      const message = (err as Error).message
      const refused = err instanceof RelaymeshError && (err.code === ErrorCode.MESH_KEY || err.code === ErrorCode.AUTH)
      const now = this.clock.monoMs()
      if (refused && (message !== l.refusal || now - l.refusalLoggedAt >= REFUSAL_LOG_MS)) {
        this.log.error({ controller: l.name, err: message, repeats: l.refusalRepeats }, 'controller refused the control channel')
        l.refusal = message
        l.refusalLoggedAt = now
        l.refusalRepeats = 0
      } else {
        if (refused) l.refusalRepeats++
        this.log.debug({ controller: l.name, err: message }, refused ? 'controller refused the control channel' : 'controller unreachable')
      }
      this.retry(l)
      return
    }
    if (!this.running) { void ch.close('relay shutting down'); return }
    l.channel = ch
    l.backoffMs = RECONNECT_MIN_MS
    l.refusal = undefined
    this.log.info({ controller: l.name }, 'connected to controller')
    ch.on('message', (raw) => { this.onMessage(l, ch, raw) })
    ch.on('close', (info) => {
      if (l.channel !== ch) return
      l.channel = undefined
      l.role = 'unknown'
      if (this.leader === l) this.loseLeader()
      if (!this.running) return
      this.log.info({ controller: l.name, reason: info.reason, initiator: info.initiator }, 'controller channel closed; forwarding on the last tables')
      this.retry(l)
    })
    // It may have closed before the listener was attached; then no 'close' comes to retry on.
    if (ch.isClosed) { l.channel = undefined; this.retry(l); return }
    this.register(l)
  }

  private retry (l: Link): void {
    if (!this.running || l.timer !== undefined) return
    const wait = l.backoffMs
    l.backoffMs = Math.min(RECONNECT_MAX_MS, l.backoffMs * 2)
    l.timer = this.clock.setTimeout(() => { void this.connect(l) }, wait)
  }

  private onMessage (l: Link, ch: Channel, raw: unknown): void {
    const p = parseControllerMessage(raw)
    if (!p.ok) {
      this.log.warn({ controller: l.name, reason: p.reason }, 'invalid message from controller; reconnecting')
      void ch.close(`invalid message: ${p.reason}`.slice(0, 120))
      return
    }
    const m = p.msg
    if (m.type !== 'refuse' && !this.checkFence(l, m.type, m.type === 'welcome' || m.type === 'role' ? m.role : 'leader', m.fence)) return
    if (p.skipped.count > 0) {
      this.skippedEntries += p.skipped.count
      this.log.warn({ controller: l.name, type: m.type, skipped: p.skipped.count, first: p.skipped.first }, 'invalid entries skipped in a controller message')
    }
    switch (m.type) {
      case 'welcome':
      case 'role':
        this.setRole(l, m.role, m.type === 'role')
        return
      case 'refuse':
        this.log.error({ controller: l.name, reason: m.reason }, 'controller refused this relay')
        return
      case 'neighbours':
        if (this.leader !== l) return
        this.handlers.onNeighbours(m.neighbours)
        return
      case 'keys':
        if (this.leader !== l) return
        this.handlers.onKeys?.(m.keys, m.removed)
        return
      case 'table':
        if (this.leader !== l) return
        this.handlers.onTable(m)
        this.send(l, { type: 'ack', version: m.version, round: m.round })
    }
  }

  /**
   * False for a leader's message with a lower fence than one seen before: it comes from a leader
   * that has been deposed (and may not know it yet). A standby's word needs no fence.
   */
  private checkFence (l: Link, type: string, role: 'leader' | 'standby', fence: number): boolean {
    if (role === 'standby') return true
    const forgetMs = this.init.fenceForgetMs ?? FENCE_FORGET_MS
    if (fence < this.fence && this.leader === undefined && this.clock.monoMs() - this.leaderlessSince >= forgetMs) {
      this.log.warn({ controller: l.name, fence, highest: this.fence, leaderlessMs: forgetMs }, 'no leader for a while: accepting a lower fencing number')
      this.fence = fence
    }
    if (fence < this.fence) {
      this.staleFenceDrops++
      this.log.warn({ controller: l.name, type, fence, highest: this.fence }, 'ignoring a deposed leader (lower fencing number)')
      return false
    }
    this.fence = fence
    return true
  }

  private loseLeader (): void {
    this.leader = undefined
    this.leaderlessSince = this.clock.monoMs()
  }

  private setRole (l: Link, role: 'leader' | 'standby', changed: boolean): void {
    l.role = role
    if (role === 'leader') {
      if (this.leader !== l) this.log.info({ controller: l.name }, 'following controller')
      this.leader = l
      // A standby that just took over needs our real table to diff against.
      if (changed) this.register(l)
    } else if (this.leader === l) {
      this.loseLeader()
    }
  }
}
