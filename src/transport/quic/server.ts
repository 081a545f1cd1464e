import type { Socket } from 'node:dgram'
import { isIP } from 'node:net'
import { events as quicEvents, QUICServer, type QUICConnection, type QUICStream } from '@matrixai/quic'
import { Type as QuicPacketType } from '@matrixai/quic/native/types.js'
import { systemClock, type Clock, type Timer } from '../../clock.js'
import { InvalidStateError, ioError } from '../../errors.js'
import type { Logger } from '../../logging.js'
import { formatHostPort, type HostPort } from '../address.js'
import { runServerAuth, type HandshakeError } from './auth.js'
import { generateTlsIdentity, type TlsIdentity } from './certs.js'
import { CloseCode } from './constants.js'
import { HandshakeLimit, type HandshakeRefusal, type HandshakeStats } from './handshake-limit.js'
import { QuicChannel } from './quic-channel.js'
import { checkAlpn, quicConfig, resolveTuning, type ResolvedTuning } from './quic-config.js'
import { serverCrypto } from './quic-crypto.js'
import { quicLibraryLogger } from './quic-logger.js'
import { lightenRecvLock, warnHeavyLock } from './recv-lock.js'
import type { Channel, QuicServer, QuicServerOptions } from './types.js'

/** A connection that has not yet passed the authentication hook. */
interface Pending {
  conn: QUICConnection
  remote: string
  channel?: QuicChannel
  deadline: Timer
  /** The source address whose handshake-limit slot this connection holds; released in forget(). */
  slot?: string
}

/** QUICServer.acceptConnection: @internal in the library, called by its socket for a packet of no known connection. */
type AcceptConnection = (remoteInfo: { host: string, port: number }, header: { ty: number, token?: Uint8Array }, dcid: unknown, data: unknown) => Promise<QUICConnection | undefined>

/** At most one warning about refused handshakes per this many ms. */
const REFUSAL_WARN_INTERVAL_MS = 10_000

/**
 * Accepts QUIC connections for one ALPN and turns each into a Channel once the client has passed
 * the authentication hook. A connection that does not pass within the handshake timeout is closed, whether or
 * not it opened a stream, so strangers cannot hold connections open on keepalives alone.
 */
class QuicChannelServer<P> implements QuicServer {
  readonly channels = new Set<Channel>()
  private readonly opts: QuicServerOptions<P>
  private readonly alpn: string
  private readonly tuning: ResolvedTuning
  private readonly log: Logger
  private readonly clock: Clock
  private readonly limit: HandshakeLimit
  private lastRefusalWarnMs = -Infinity
  private readonly pending = new Set<Pending>()
  /** Every announced connection, until it stops; streams find their connection's entry here. */
  private readonly byConnection = new Map<QUICConnection, Pending>()
  /** Streams that arrived before their connection was announced (see onStreamEvent). */
  private readonly earlyStreams = new WeakMap<QUICConnection, QUICStream[]>()
  private server: QUICServer | undefined
  private identity: TlsIdentity | undefined
  private bound: HostPort | undefined
  private stopping: Promise<void> | undefined

  constructor (opts: QuicServerOptions<P>) {
    const family = isIP(opts.host)
    if (family === 0) throw new TypeError(`QUIC server host '${opts.host}' is not an IP literal`)
    this.alpn = checkAlpn(opts.alpn)
    if (typeof opts.auth?.verify !== 'function') throw new TypeError(`QUIC server for '${this.alpn}' needs an auth hook with a verify function`)
    this.opts = opts
    this.tuning = resolveTuning(opts)
    this.clock = opts.clock ?? systemClock
    this.log = opts.logger.child({ component: 'quic-server', alpn: this.alpn })
    this.limit = new HandshakeLimit({ maxPending: opts.maxPendingHandshakes, maxPendingPerSource: opts.maxPendingPerSource })
  }

  get handshakes (): HandshakeStats { return this.limit.snapshot() }

  async start (): Promise<HostPort> {
    if (this.server !== undefined || this.stopping !== undefined) throw new InvalidStateError('QUIC server (already started)')
    const family = isIP(this.opts.host) as 4 | 6
    this.identity = this.opts.identity ?? await generateTlsIdentity()
    const server = new QUICServer({
      crypto: serverCrypto(),
      config: { ...quicConfig(this.tuning, 'server', this.alpn), key: this.identity.keyPem, cert: this.identity.certPem },
      // Time an accepted connection gets to finish the QUIC handshake itself.
      minIdleTimeout: this.tuning.handshakeTimeoutMs,
      logger: quicLibraryLogger(this.log, 'QUICServer')
    })
    server.addEventListener(quicEvents.EventQUICServerConnection.name, this.onConnection)
    server.addEventListener(quicEvents.EventQUICConnectionStream.name, this.onStreamEvent)
    // The library offers no admission hook: its socket calls acceptConnection for every packet
    // that names no known connection, so the limit wraps that call on this instance.
    const lib = server as unknown as { acceptConnection: AcceptConnection }
    const accept = lib.acceptConnection.bind(server)
    lib.acceptConnection = async (remoteInfo, header, dcid, data) => await this.admit(accept, remoteInfo, header, dcid, data)
    this.server = server
    try {
      await server.start({ host: this.opts.host, port: this.opts.port })
    } catch (err) {
      this.server = undefined
      throw ioError(`listen QUIC ${formatHostPort(this.opts)}`, err)
    }
    this.bound = { host: server.host, port: server.port, family }
    if (this.opts.socketBufferBytes !== undefined) this.sizeBuffers(server, this.opts.socketBufferBytes)
    this.log.info({ address: formatHostPort(this.bound) }, 'QUIC server listening')
    return this.bound
  }

  /**
   * Asks the kernel for bigger UDP buffers. The library keeps its dgram socket to itself (the
   * QUICServer's QUICSocket holds it); a library without that field leaves the default, with a warning.
   */
  private sizeBuffers (server: QUICServer, bytes: number): void {
    const sock = (server as unknown as { socket?: { socket?: Socket } }).socket?.socket
    if (sock === undefined || typeof sock.setRecvBufferSize !== 'function') {
      this.log.warn({ socketBufferBytes: bytes }, 'cannot reach the QUIC socket to size its buffers; keeping the kernel default')
      return
    }
    try {
      sock.setRecvBufferSize(bytes)
      sock.setSendBufferSize(bytes)
    } catch (err) {
      this.log.warn({ socketBufferBytes: bytes, err: (err as Error).message }, 'could not size the QUIC socket buffers; keeping the kernel default')
      return
    }
    // Linux reports twice the size it grants (the other half is its bookkeeping).
    const got = Math.min(sock.getRecvBufferSize(), sock.getSendBufferSize()) / 2
    if (got < bytes) this.log.warn({ socketBufferBytes: bytes, granted: got }, 'the kernel granted smaller UDP buffers than asked: raise net.core.rmem_max and net.core.wmem_max')
  }

  address (): HostPort {
    if (this.bound === undefined) throw new InvalidStateError('QUIC server (not started)')
    return this.bound
  }

  async stop (): Promise<void> {
    this.stopping ??= (async () => {
      const closing: Array<Promise<void>> = []
      for (const p of this.pending) closing.push(this.dropPending(p, CloseCode.SHUTDOWN, 'server stopping'))
      for (const ch of this.channels) closing.push((ch as QuicChannel).closeWith(CloseCode.SHUTDOWN, 'server stopping'))
      await Promise.all(closing)
      const server = this.server
      if (server === undefined) return
      server.removeEventListener(quicEvents.EventQUICServerConnection.name, this.onConnection)
      server.removeEventListener(quicEvents.EventQUICConnectionStream.name, this.onStreamEvent)
      await server.stop({ isApp: true, errorCode: CloseCode.SHUTDOWN, reason: Buffer.from('server stopping'), force: true })
      this.log.info({ address: this.bound === undefined ? undefined : formatHostPort(this.bound) }, 'QUIC server stopped')
    })()
    await this.stopping
  }

  /**
   * Lets a connection start only if the handshake limit has a slot for its source. Only an
   * Initial packet that carries a retry token starts a connection; one without a token gets a
   * stateless retry, which costs no state and proves the source address, so spoofed sources never
   * take a slot. Other packet types start nothing and are dropped here: the library would discard
   * most, but for a 0-RTT packet (no token in its header) it reads the token's length off null and
   * rejects a promise nobody handles, which ends the process on one datagram.
   */
  private async admit (accept: AcceptConnection, remoteInfo: { host: string, port: number }, header: { ty: number, token?: Uint8Array }, dcid: unknown, data: unknown): Promise<QUICConnection | undefined> {
    if (header.ty !== QuicPacketType.Initial) return undefined
    if (header.token === undefined || header.token.byteLength === 0) return await accept(remoteInfo, header, dcid, data)
    const host = remoteInfo.host
    const refusal = this.limit.tryAcquire(host)
    if (refusal !== undefined) { this.warnRefused(host, refusal); return undefined }
    let conn: QUICConnection | undefined
    try {
      conn = await accept(remoteInfo, header, dcid, data)
    } finally {
      // onConnection ran inside accept() if the connection started: its Pending takes the slot,
      // unless it is already gone.
      const p = conn === undefined ? undefined : this.byConnection.get(conn)
      if (p !== undefined && this.pending.has(p) && p.slot === undefined) p.slot = host
      else this.limit.release(host)
    }
    return conn
  }

  private warnRefused (host: string, refusal: HandshakeRefusal): void {
    const now = this.clock.monoMs()
    if (now - this.lastRefusalWarnMs < REFUSAL_WARN_INTERVAL_MS) return
    this.lastRefusalWarnMs = now
    const limit = refusal === 'total' ? this.limit.maxPending : this.limit.maxPendingPerSource
    this.log.warn({ remote: host, cap: refusal, limit, ...this.limit.snapshot() }, 'dropping QUIC handshakes: too many pending (further drops are counted, not logged, for 10 s)')
  }

  private readonly onConnection = (evt: Event): void => {
    const conn = (evt as quicEvents.EventQUICServerConnection).detail
    const remote = formatHostPort({ host: conn.remoteHost, port: conn.remotePort })
    if (this.stopping !== undefined) {
      void stopConnection(conn, CloseCode.SHUTDOWN, 'server stopping')
      return
    }
    if (!lightenRecvLock(conn)) warnHeavyLock(this.log)
    const p: Pending = {
      conn,
      remote,
      deadline: this.clock.setTimeout(() => {
        this.log.warn({ remote, auth: this.opts.auth.name }, 'closing connection: authentication not completed in time')
        void this.dropPending(p, CloseCode.HANDSHAKE_TIMEOUT, 'handshake timeout')
      }, this.tuning.handshakeTimeoutMs)
    }
    this.pending.add(p)
    this.byConnection.set(conn, p)
    conn.addEventListener(quicEvents.EventQUICConnectionStopped.name, () => {
      this.forget(p)
      this.byConnection.delete(conn)
    }, { once: true })
    for (const stream of this.earlyStreams.get(conn) ?? []) this.onStream(p, stream)
    this.earlyStreams.delete(conn)
  }

  /**
   * Streams are taken from the server's copy of each connection event, not from the connection.
   * The library announces a connection only after its start() resolves, but the packet that
   * completes the QUIC handshake may already carry the client's first stream data. A listener
   * added on the announcement would then miss the stream. The server hears connection events
   * from the start, so such a stream waits in earlyStreams until the announcement.
   */
  private readonly onStreamEvent = (evt: Event): void => {
    const stream = (evt as quicEvents.EventQUICConnectionStream).detail
    // QUICStream keeps its connection in a protected field; the public API offers no other link.
    const conn = (stream as unknown as { connection?: QUICConnection }).connection
    if (conn === undefined) {
      this.log.error('QUIC stream without a connection; @matrixai/quic internals changed')
      stream.cancel(new Error('unroutable stream'))
      return
    }
    const p = this.byConnection.get(conn)
    if (p !== undefined) this.onStream(p, stream)
    else this.earlyStreams.set(conn, [...(this.earlyStreams.get(conn) ?? []), stream])
  }

  private onStream (p: Pending, stream: QUICStream): void {
    if (p.channel !== undefined) {
      // The stream limit allows one; this only runs if a peer ignores it.
      stream.cancel(new Error('one stream per channel'))
      return
    }
    const conn = p.conn
    p.channel = new QuicChannel({ logger: this.opts.logger, clock: this.clock }, {
      connection: conn,
      stream,
      maxFrameBytes: this.tuning.maxFrameBytes,
      closeGraceMs: this.tuning.closeGraceMs,
      keepAliveIntervalMs: this.tuning.keepAliveIntervalMs,
      stopConnection: async (code, reason) => { await stopConnection(conn, code, reason) }
    })
    this.authenticate(p, p.channel).catch((err: unknown) => {
      this.log.error({ err: (err as Error).message, remote: p.remote }, 'authenticating a QUIC client failed unexpectedly')
    })
  }

  private async authenticate (p: Pending, channel: QuicChannel): Promise<void> {
    const auth = this.opts.auth
    let peer: P
    try {
      peer = await runServerAuth(auth, {
        io: channel.handshakeIo(),
        fingerprint: (this.identity as TlsIdentity).fingerprint,
        peer: `QUIC client ${p.remote}`
      }, { timeoutMs: this.tuning.handshakeTimeoutMs, clock: this.clock })
    } catch (err) {
      this.forget(p)
      if (channel.isClosed) return
      const e = err as HandshakeError
      if (e.failure === 'closed') {
        this.log.info({ remote: p.remote, auth: auth.name, err: e.message }, 'QUIC client left during the handshake')
        await channel.abort(CloseCode.NORMAL, e.reason)
        return
      }
      this.log.warn({ remote: p.remote, auth: auth.name, failure: e.failure, err: e.message }, 'refused QUIC client')
      if (e.failure === 'timeout') await channel.abort(CloseCode.HANDSHAKE_TIMEOUT, e.reason)
      // A graceful close lets the 'refuse' message reach the client before the connection ends.
      else await channel.closeWith(CloseCode.AUTH_FAILED, e.reason)
      return
    }
    this.forget(p)
    if (this.stopping !== undefined) {
      await channel.closeWith(CloseCode.SHUTDOWN, 'server stopping')
      return
    }
    this.channels.add(channel)
    channel.on('close', () => { this.channels.delete(channel) })
    this.log.info({ remote: p.remote, channelId: channel.id.slice(0, 16), auth: auth.name }, 'QUIC client authenticated')
    // Open first so onChannel may send at once; received messages wait for its listeners.
    channel.open()
    try {
      this.opts.onChannel(channel, peer)
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'onChannel threw')
    }
  }

  private forget (p: Pending): void {
    if (!this.pending.delete(p)) return
    this.clock.clearTimer(p.deadline)
    if (p.slot !== undefined) { this.limit.release(p.slot); p.slot = undefined }
  }

  private async dropPending (p: Pending, code: number, reason: string): Promise<void> {
    this.forget(p)
    if (p.channel !== undefined) await p.channel.abort(code, reason)
    else await stopConnection(p.conn, code, reason)
  }
}

async function stopConnection (conn: QUICConnection, code: number, reason: string): Promise<void> {
  await conn.stop({ isApp: true, errorCode: code, reason: Buffer.from(reason), force: true })
}

/** A QUIC server for one channel type, whose clients must pass its auth hook; see QuicServerOptions. */
export function createQuicServer<P> (opts: QuicServerOptions<P>): QuicServer {
  return new QuicChannelServer<P>(opts)
}
