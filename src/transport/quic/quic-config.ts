import type { QUICConfig } from '@matrixai/quic'
import { DEFAULT_CLOSE_GRACE_MS, DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_KEEPALIVE_INTERVAL_MS, DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_IDLE_TIMEOUT_MS, MAX_ALPN_BYTES } from './constants.js'
import type { ChannelTuning } from './types.js'

export type ResolvedTuning = Required<ChannelTuning>

/** Fills defaults and checks the combination; a bad value is a TypeError naming it. */
export function resolveTuning (t: ChannelTuning): ResolvedTuning {
  const r: ResolvedTuning = {
    maxFrameBytes: t.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    maxIdleTimeoutMs: t.maxIdleTimeoutMs ?? DEFAULT_MAX_IDLE_TIMEOUT_MS,
    keepAliveIntervalMs: t.keepAliveIntervalMs ?? DEFAULT_KEEPALIVE_INTERVAL_MS,
    handshakeTimeoutMs: t.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    closeGraceMs: t.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS
  }
  for (const [name, v] of Object.entries(r)) {
    // A keepalive interval of 0 means this end sends none (the peer's keep the connection live).
    const min = name === 'keepAliveIntervalMs' ? 0 : 1
    if (!Number.isInteger(v) || v < min) throw new TypeError(`QUIC channel option ${name} must be a ${min === 0 ? 'non-negative' : 'positive'} integer, got ${String(v)}`)
  }
  if (r.maxFrameBytes > 0xffffffff) throw new TypeError(`QUIC channel option maxFrameBytes must fit a u32, got ${r.maxFrameBytes}`)
  // The idle keepalive may stay silent for 5/4 of its interval (idle-keepalive.ts).
  if (r.keepAliveIntervalMs * 5 / 4 >= r.maxIdleTimeoutMs) {
    throw new TypeError(`QUIC channel option keepAliveIntervalMs (${r.keepAliveIntervalMs}) must be under 4/5 of maxIdleTimeoutMs (${r.maxIdleTimeoutMs}), so that a silent channel pings before it times out`)
  }
  return r
}

/** Checks an ALPN protocol id: 1–255 bytes of printable ASCII. A bad one is a TypeError naming it. */
export function checkAlpn (alpn: unknown): string {
  if (typeof alpn !== 'string' || alpn.length === 0 || alpn.length > MAX_ALPN_BYTES || !/^[\x21-\x7e]+$/.test(alpn)) {
    throw new TypeError(`QUIC option alpn must be 1-${MAX_ALPN_BYTES} printable ASCII characters naming the channel type, e.g. 'relaymesh-control/1'; got ${JSON.stringify(alpn)}`)
  }
  return alpn
}

/**
 * The QUIC settings both ends use. `alpn` names the channel type: a client and a server with
 * different ones fail the TLS handshake. Neither end checks the other's certificate against a CA:
 * the channel's authentication hook, bound to the server certificate's fingerprint, authenticates
 * both. Each
 * connection carries exactly one client-opened bidirectional stream, so the stream limits say so
 * and a peer cannot make us keep more.
 */
export function quicConfig (t: ResolvedTuning, role: 'client' | 'server', alpn: string): Partial<QUICConfig> {
  return {
    verifyPeer: false,
    applicationProtos: [alpn],
    maxIdleTimeout: t.maxIdleTimeoutMs,
    // The channel keeps itself alive, and only when silent (idle-keepalive.ts).
    keepAliveIntervalTime: undefined,
    // Limits the streams the *peer* may open: a client may open one, a server none.
    initialMaxStreamsBidi: role === 'server' ? 1 : 0,
    initialMaxStreamsUni: 0
  }
}
