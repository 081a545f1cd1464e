import { errors as quicErrors, events as quicEvents, type QUICConnection, type QUICStream } from '@matrixai/quic'
import type { Clock } from '../../clock.js'
import { InvalidStateError, ioError } from '../../errors.js'
import { TypedEmitter } from '../../events.js'
import type { Logger } from '../../logging.js'
import type { HandshakeIo } from './auth.js'
import { CloseCode } from './constants.js'
import { encodeFrame, FrameDecoder, FrameError, parseFrameBody } from './frame.js'
import { startIdleKeepalive } from './idle-keepalive.js'
import type { Channel, ChannelCloseInfo, ChannelEvents } from './types.js'

/**
 * Before authentication a peer may only send the small handshake messages: a stranger must not
 * make us buffer a megabyte per connection.
 */
const HANDSHAKE_MAX_FRAME_BYTES = 4096
/**
 * Bytes an open channel reads ahead while nobody listens. Reading a little keeps a peer's FIN or
 * close visible to an idle channel; stopping after that hands backpressure to QUIC flow control.
 */
const PAUSED_READ_AHEAD_BYTES = 64 * 1024

export interface ChannelComponents {
  logger: Logger
  clock: Clock
}

export interface ChannelInit {
  connection: QUICConnection
  stream: QUICStream
  maxFrameBytes: number
  closeGraceMs: number
  /** Longest this end stays silent before it sends a PING (idle-keepalive.ts); 0 sends none. */
  keepAliveIntervalMs: number
  /**
   * Ends the QUIC connection with an application close (code and reason reach the peer), and on
   * a client also its socket. Must tolerate a connection that has already closed.
   */
  stopConnection: (code: number, reason: string) => Promise<void>
}

type State = 'handshake' | 'open' | 'closing' | 'closed'

/**
 * One channel: one QUIC connection carrying one bidirectional stream of length-prefixed JSON frames
 * (see frame.ts). It starts in the handshake state, where `handshakeIo()` reads and writes raw
 * handshake messages. `open()` then switches it to delivering application messages.
 *
 * The stream is read only when someone wants what it holds: a pending handshake read, or, once
 * open, at least one 'message' listener (or a little read-ahead without one). Frames are decoded
 * one at a time. So application frames
 * that arrive right behind the handshake's last message wait, undecoded, for open() to raise the
 * frame limit. An unauthenticated peer can make us buffer only a few KiB.
 *
 * Every way of ending converges on one `closing` promise, so 'close' fires exactly once:
 * - close(): flush, FIN, wait for the peer's FIN, then CONNECTION_CLOSE with our reason.
 * - the peer's FIN: FIN back, wait briefly for its CONNECTION_CLOSE to learn its reason.
 * - a protocol error: CONNECTION_CLOSE at once, with the error as the reason.
 * - the connection closing under us: the peer, an idle timeout, or a lost socket.
 */
export class QuicChannel implements Channel {
  readonly id: string
  readonly remote: { host: string, port: number }
  readonly closed: Promise<ChannelCloseInfo>

  private state: State = 'handshake'
  private readonly events: TypedEmitter<ChannelEvents>
  private readonly log: Logger
  private readonly clock: Clock
  private readonly init: ChannelInit
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>
  private readonly decoder: FrameDecoder
  private outbox: Buffer[] = []
  private outboxWaiters: Array<{ resolve: () => void, reject: (e: Error) => void }> = []
  private handshakeWaiter: { resolve: (m: unknown) => void, reject: (e: Error) => void } | undefined
  private readEnd: Error | undefined
  private readonly readDone: Promise<void>
  private resolveReadDone!: () => void
  /** Set while the read loop sleeps because nobody wants more bytes; calling it resumes the loop. */
  private wake: (() => void) | undefined
  private messageListeners = 0
  private connError: Error | undefined
  private readonly connClosed: Promise<void>
  private resolveConnClosed!: () => void
  private closing: Promise<void> | undefined
  private resolveClosed!: (info: ChannelCloseInfo) => void
  /** When a frame last went to QUIC (clock.monoMs). */
  private lastWriteMs: number
  private stopKeepalive: (() => void) | undefined

  constructor (components: ChannelComponents, init: ChannelInit) {
    this.init = init
    this.clock = components.clock
    this.id = init.connection.connectionIdShared.toString()
    this.remote = { host: init.connection.remoteHost, port: init.connection.remotePort }
    this.log = components.logger.child({ component: 'quic-channel', channelId: this.id.slice(0, 16), remote: `${this.remote.host}:${this.remote.port}` })
    this.events = new TypedEmitter<ChannelEvents>(this.log)
    this.decoder = new FrameDecoder(HANDSHAKE_MAX_FRAME_BYTES)
    this.closed = new Promise((resolve) => { this.resolveClosed = resolve })
    this.readDone = new Promise((resolve) => { this.resolveReadDone = resolve })
    this.connClosed = new Promise((resolve) => { this.resolveConnClosed = resolve })
    this.reader = init.stream.readable.getReader()
    this.writer = init.stream.writable.getWriter()
    init.connection.addEventListener(quicEvents.EventQUICConnectionClose.name, this.onConnectionClose, { once: true })
    this.lastWriteMs = this.clock.monoMs()
    if (init.keepAliveIntervalMs > 0) {
      this.stopKeepalive = startIdleKeepalive(init.connection, init.keepAliveIntervalMs, this.clock, () => this.lastWriteMs)
      if (this.stopKeepalive === undefined) warnNoKeepalive(this.log)
    }
    void this.readLoop()
  }

  get isClosed (): boolean { return this.state === 'closing' || this.state === 'closed' }

  /** How the handshake talks over this channel before open(). */
  handshakeIo (): HandshakeIo {
    return {
      read: async () => await new Promise<unknown>((resolve, reject) => {
        this.handshakeWaiter = { resolve, reject }
        // A frame may already be buffered, even after the peer's FIN.
        if (!this.drain() || this.handshakeWaiter === undefined) return
        if (this.readEnd !== undefined || this.state !== 'handshake') this.failHandshakeRead(this.readEnd ?? new Error('channel closed'))
        else this.wakeReader()
      }),
      send: async (msg) => { await this.writeFrame(encodeFrame(msg, HANDSHAKE_MAX_FRAME_BYTES)) }
    }
  }

  /** Ends the handshake: from now on frames are application messages up to the full limit. */
  open (): void {
    if (this.state !== 'handshake') return
    this.state = 'open'
    this.decoder.setMaxBytes(this.init.maxFrameBytes)
    this.log.debug('channel open')
    this.resume()
  }

  send (msg: unknown): Promise<void> {
    if (this.state !== 'open') throw new InvalidStateError('QUIC channel')
    return this.writeFrame(encodeFrame(msg, this.init.maxFrameBytes))
  }

  on<K extends keyof ChannelEvents>(event: K, fn: (...args: ChannelEvents[K]) => void): () => void {
    const off = this.events.on(event, fn)
    if (event !== 'message') return off
    this.messageListeners++
    this.resume()
    let removed = false
    return () => {
      if (removed) return
      removed = true
      this.messageListeners--
      off()
    }
  }

  async close (reason = 'closed by application'): Promise<void> {
    await this.closeWith(CloseCode.NORMAL, reason)
  }

  /** A graceful close with a chosen code: queued frames reach the peer before the connection ends. */
  async closeWith (code: number, reason: string): Promise<void> {
    this.closing ??= (async () => {
      this.beginClosing()
      await this.withinGrace(this.writer.close())
      await this.withinGrace(this.readDone)
      await this.stopConnection(code, reason)
      this.finish({ reason, code, initiator: 'local' })
    })()
    await this.closing
  }

  /** Ends the connection at once; for protocol errors, where nothing more should be read. */
  async abort (code: number, reason: string): Promise<void> {
    this.closing ??= (async () => {
      this.beginClosing()
      await this.stopConnection(code, reason)
      this.finish({ reason, code, initiator: 'local' })
    })()
    await this.closing
  }

  /** The close the connection reported, if it has closed; lets callers explain a failed handshake. */
  connectionCloseInfo (): ChannelCloseInfo | undefined {
    return this.connError === undefined ? undefined : describeConnectionClose(this.connError)
  }

  [Symbol.asyncIterator] (): AsyncIterator<unknown> {
    const queue: unknown[] = []
    let waiter: ((r: IteratorResult<unknown>) => void) | undefined
    let done = this.state === 'closed'
    const end = (): void => {
      done = true
      offMessage()
      offClose()
      waiter?.({ value: undefined, done: true })
      waiter = undefined
    }
    const offMessage = this.on('message', (m) => {
      if (waiter !== undefined) {
        waiter({ value: m, done: false })
        waiter = undefined
      } else {
        queue.push(m)
      }
    })
    const offClose = this.on('close', end)
    if (done) end()
    return {
      next: async () => {
        if (queue.length > 0) return { value: queue.shift(), done: false }
        if (done) return { value: undefined, done: true }
        return await new Promise<IteratorResult<unknown>>((resolve) => { waiter = resolve })
      },
      return: async () => {
        end()
        return { value: undefined, done: true }
      }
    }
  }

  /**
   * Queues a frame; frames queued in one tick go to QUIC as one write. @matrixai/quic sends a
   * packet per write, so a burst of small messages would otherwise cost a packet each.
   */
  private writeFrame (frame: Buffer): Promise<void> {
    const p = new Promise<void>((resolve, reject) => {
      this.outbox.push(frame)
      this.outboxWaiters.push({ resolve, reject })
    })
    if (this.outbox.length === 1) queueMicrotask(() => { this.flush() })
    // The caller may ignore the promise; its failure then surfaces as the channel's close instead.
    p.catch(() => {})
    return p
  }

  private flush (): void {
    if (this.outbox.length === 0) return
    const chunk = this.outbox.length === 1 ? this.outbox[0] : Buffer.concat(this.outbox)
    const waiters = this.outboxWaiters
    this.outbox = []
    this.outboxWaiters = []
    this.lastWriteMs = this.clock.monoMs()
    this.writer.write(chunk).then(() => {
      for (const w of waiters) w.resolve()
    }, (err: unknown) => {
      const e = ioError('send on QUIC channel', err, true)
      for (const w of waiters) w.reject(e)
    })
  }

  private flowing (): boolean {
    return this.messageListeners > 0
  }

  /** Whether the read loop should pull more bytes from the stream now. */
  private wantsBytes (): boolean {
    if (this.state === 'handshake') return this.handshakeWaiter !== undefined
    if (this.state === 'open') return this.flowing() || this.decoder.pending < PAUSED_READ_AHEAD_BYTES
    // Closing: read on, discarding, to see the peer's FIN.
    return true
  }

  private async readLoop (): Promise<void> {
    try {
      for (;;) {
        if (!this.drain()) return
        if (!this.wantsBytes()) {
          await new Promise<void>((resolve) => { this.wake = resolve })
          continue
        }
        const { value, done } = await this.reader.read()
        if (done) break
        if (!this.isClosed) this.decoder.push(value)
      }
      this.onReadEnd(undefined)
    } catch (err) {
      this.onReadEnd(err as Error)
    } finally {
      this.resolveReadDone()
    }
  }

  /**
   * Hands out buffered frames to whoever wants them: the pending handshake read, or the 'message'
   * listeners. Returns false after a framing error, which closes the channel.
   */
  private drain (): boolean {
    try {
      if (this.state === 'handshake') {
        while (this.handshakeWaiter !== undefined) {
          const body = this.decoder.next()
          if (body === undefined) break
          const msg = parseFrameBody(body)
          const w = this.handshakeWaiter
          this.handshakeWaiter = undefined
          w.resolve(msg)
        }
        return true
      }
      while (this.state === 'open' && this.flowing()) {
        const body = this.decoder.next()
        if (body === undefined) break
        this.events.emit('message', parseFrameBody(body))
      }
      return true
    } catch (err) {
      if (!(err instanceof FrameError)) throw err
      this.onProtocolError(err.message)
      return false
    }
  }

  /**
   * Delivers what is already buffered and restarts the read loop if it sleeps. Deferred to a
   * microtask: the caller (on(), open()) is still subscribing and must not be re-entered.
   */
  private resume (): void {
    queueMicrotask(() => {
      if (this.drain()) this.wakeReader()
    })
  }

  private wakeReader (): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }

  private onProtocolError (reason: string): void {
    this.log.warn({ reason }, 'closing channel: peer broke the framing')
    this.failHandshakeRead(new Error(reason))
    void this.abort(CloseCode.PROTOCOL_ERROR, reason)
  }

  private onReadEnd (err: Error | undefined): void {
    this.readEnd = err ?? new Error('peer ended the stream')
    this.failHandshakeRead(this.readEnd)
    if (this.state !== 'open') return
    if (err === undefined) {
      void this.peerEnded()
    } else {
      // The connection's own close event usually gets here first, with a better reason.
      this.terminate(this.connError !== undefined ? describeConnectionClose(this.connError) : { reason: `stream failed: ${err.message}`, initiator: 'transport' })
    }
  }

  private failHandshakeRead (err: Error): void {
    const w = this.handshakeWaiter
    this.handshakeWaiter = undefined
    w?.reject(err)
  }

  /** The peer sent FIN: it is closing. Answer with ours, then learn its reason from the close. */
  private async peerEnded (): Promise<void> {
    this.closing ??= (async () => {
      this.beginClosing()
      await this.withinGrace(this.writer.close())
      await this.withinGrace(this.connClosed)
      const info = this.connError !== undefined ? describeConnectionClose(this.connError) : { reason: 'peer ended the stream', initiator: 'peer' as const }
      await this.stopConnection(CloseCode.NORMAL, 'peer ended the stream')
      this.finish(info)
    })()
    await this.closing
  }

  private readonly onConnectionClose = (evt: Event): void => {
    this.connError = (evt as quicEvents.EventQUICConnectionClose).detail
    this.resolveConnClosed()
    this.failHandshakeRead(new Error(describeConnectionClose(this.connError).reason))
    if (this.state === 'open' || this.state === 'handshake') this.terminate(describeConnectionClose(this.connError))
  }

  private terminate (info: ChannelCloseInfo): void {
    this.closing ??= (async () => {
      this.beginClosing()
      await this.stopConnection(CloseCode.NORMAL, info.reason)
      this.finish(info)
    })()
  }

  private beginClosing (): void {
    this.stopKeepalive?.()
    // Frames sent before close() go out ahead of the FIN.
    this.flush()
    this.state = 'closing'
    this.wakeReader()
  }

  private async stopConnection (code: number, reason: string): Promise<void> {
    try {
      await this.init.stopConnection(code, reason)
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'stopping the QUIC connection failed')
    }
  }

  private finish (info: ChannelCloseInfo): void {
    if (this.state === 'closed') return
    this.stopKeepalive?.()
    this.state = 'closed'
    this.log.debug({ reason: info.reason, code: info.code, initiator: info.initiator }, 'channel closed')
    this.resolveClosed(info)
    this.events.emit('close', info)
  }

  /** Waits for p, but no longer than the close grace; p's failure counts as done. */
  private async withinGrace (p: Promise<unknown>): Promise<void> {
    let timer: ReturnType<Clock['setTimeout']> | undefined
    const expired = new Promise<void>((resolve) => { timer = this.clock.setTimeout(resolve, this.init.closeGraceMs) })
    try {
      await Promise.race([p.then(() => {}, () => {}), expired])
    } finally {
      if (timer !== undefined) this.clock.clearTimer(timer)
    }
  }
}

/** Turns @matrixai/quic's close error into our close info, with the peer's reason phrase. */
export function describeConnectionClose (err: Error): ChannelCloseInfo {
  if (err instanceof quicErrors.ErrorQUICConnectionIdleTimeout) {
    return { reason: 'idle timeout: the peer stopped answering', initiator: 'transport' }
  }
  const local = err instanceof quicErrors.ErrorQUICConnectionLocal
  if (local || err instanceof quicErrors.ErrorQUICConnectionPeer) {
    const data = (err as quicErrors.ErrorQUICConnectionPeer<unknown>).data
    const text = Buffer.from(data.reason).toString('utf8')
    const initiator = local ? 'local' : 'peer'
    if (data.isApp) return { reason: text !== '' ? text : `closed with code ${data.errorCode}`, code: data.errorCode, initiator }
    return { reason: `QUIC transport error 0x${data.errorCode.toString(16)}${text !== '' ? `: ${text}` : ''}`, initiator }
  }
  return { reason: err.message, initiator: 'transport' }
}

let keepaliveWarned = false

/** Says once per process that channels run without keepalives (startIdleKeepalive failed). */
function warnNoKeepalive (log: Logger): void {
  if (keepaliveWarned) return
  keepaliveWarned = true
  log.warn('this @matrixai/quic lacks the internals the idle keepalive uses: channels send no keepalives, and an idle one closes at its idle timeout')
}
