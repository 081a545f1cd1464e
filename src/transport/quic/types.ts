import type { Clock } from '../../clock.js'
import type { Logger } from '../../logging.js'
import type { HostPort } from '../address.js'
import type { ClientAuth, ServerAuth } from './auth.js'
import type { TlsIdentity } from './certs.js'
import type { HandshakeStats } from './handshake-limit.js'

/** Why a channel closed. Delivered once, by the 'close' event and by `closed`. */
export interface ChannelCloseInfo {
  /** Human-readable: the peer's reason phrase, or what happened here. */
  reason: string
  /** The QUIC application close code (see CloseCode), when one was sent or received. */
  code?: number
  /** Who ended it: this side, the peer, or the transport itself (idle timeout, lost socket). */
  initiator: 'local' | 'peer' | 'transport'
}

export interface ChannelEvents {
  message: [unknown]
  close: [ChannelCloseInfo]
}

/**
 * A message channel over one authenticated QUIC bidirectional stream. Messages are JSON values,
 * delivered whole and in order.
 *
 * Received messages wait until a 'message' listener is attached or the channel is iterated, so
 * none is lost between connect() resolving and the caller subscribing. Past 64 KiB of waiting
 * data the stream is no longer read and QUIC flow control pushes back on the sender. Messages still
 * waiting when the channel closes are dropped.
 */
export interface Channel extends AsyncIterable<unknown> {
  /** Shared by both ends (the QUIC connection id both agree on), for correlating logs. */
  readonly id: string
  readonly remote: { host: string, port: number }
  readonly isClosed: boolean
  /** Resolves once closed, with why. Never rejects. */
  readonly closed: Promise<ChannelCloseInfo>
  /**
   * Queues one message. Throws TypeError if it has no JSON form or exceeds the frame limit, and
   * InvalidStateError once the channel is closing. The promise resolves when QUIC has taken the
   * frame, and rejects if the channel fails first; it may be ignored safely.
   */
  send: (msg: unknown) => Promise<void>
  /**
   * Flushes queued messages, ends the stream, and closes the connection with `reason`, which the
   * peer receives. Idempotent: later calls return the first call's promise.
   */
  close: (reason?: string) => Promise<void>
  on: <K extends keyof ChannelEvents>(event: K, fn: (...args: ChannelEvents[K]) => void) => () => void
}

/** Options both ends share. Every field has a default in constants.ts. */
export interface ChannelTuning {
  maxFrameBytes?: number
  maxIdleTimeoutMs?: number
  /**
   * Longest this end stays silent before it sends a PING; it checks four times an interval, so
   * silence lasts up to 5/4 of it, which must stay under maxIdleTimeoutMs. 0 sends none (the peer
   * must, or talk).
   */
  keepAliveIntervalMs?: number
  handshakeTimeoutMs?: number
  closeGraceMs?: number
}

/**
 * A server for one channel type, named by its ALPN and guarded by its authentication hook. The
 * control channel is one (src/control/control-channel.ts); another channel type brings its own
 * ALPN and hook and runs beside it on another port.
 */
export interface QuicServerOptions<P = unknown> extends ChannelTuning {
  /** IPv4 or IPv6 literal. */
  host: string
  /** 0 picks a free port; read it back from address(). */
  port: number
  /** ALPN protocol id of the channel type served; a client asking for another fails TLS. */
  alpn: string
  /** The server half of the channel type's authentication, run on every new connection's stream. */
  auth: ServerAuth<P>
  logger: Logger
  /**
   * Called once per client that passed `auth`, with what `auth` learned of it. A throw is logged
   * and ignored.
   */
  onChannel: (channel: Channel, peer: P) => void
  /** A TLS identity to serve; by default a fresh self-signed one is made at start. */
  identity?: TlsIdentity
  clock?: Clock
  /**
   * Connections that may wait for the QUIC handshake and `auth` at once, in total and per
   * source IP address (defaults in constants.ts). Beyond either, Initial packets are dropped and
   * counted in `handshakes`; the client's QUIC stack resends them.
   */
  maxPendingHandshakes?: number
  maxPendingPerSource?: number
  /**
   * UDP receive and send buffer asked of the kernel, in bytes (default: the kernel's). Thousands of
   * clients overflow the default (about 208 kB on Linux) in bursts; the kernel caps the size at
   * net.core.rmem_max / wmem_max, and the server logs a warning when it got less than asked.
   */
  socketBufferBytes?: number
}

export interface QuicServer {
  /** Binds and listens; resolves with the bound address. */
  start: () => Promise<HostPort>
  /** Closes every channel (the clients see 'close'), then the socket. Idempotent. */
  stop: () => Promise<void>
  /** The bound address; throws InvalidStateError before start. */
  address: () => HostPort
  /** Authenticated channels currently open. */
  readonly channels: ReadonlySet<Channel>
  /** Pending handshakes now, and Initial packets dropped by each cap so far. */
  readonly handshakes: HandshakeStats
}

export interface ConnectQuicOptions extends ChannelTuning {
  host: string
  port: number
  /** ALPN protocol id of the channel type wanted; the server must serve the same. */
  alpn: string
  /** The client half of the channel type's authentication. */
  auth: ClientAuth
  logger: Logger
  /** Deadline for the QUIC handshake, and by default for `auth` after it too. */
  timeoutMs?: number
  /**
   * Deadline for `auth` alone, counted once the QUIC handshake is done (capped by the tuning's
   * handshakeTimeoutMs). Unset, `auth` gets what is left of `timeoutMs`. A server that finished the
   * QUIC handshake is alive, so a client that wants to notice a dead server quickly can keep
   * `timeoutMs` short without cutting off a slow but live one mid-authentication.
   */
  authTimeoutMs?: number
  clock?: Clock
}
