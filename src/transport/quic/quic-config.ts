import type { QUICConfig } from '@matrixai/quic'
import { CONTROL_ALPN, DEFAULT_CLOSE_GRACE_MS, DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_KEEPALIVE_INTERVAL_MS, DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_IDLE_TIMEOUT_MS } from './constants.js'
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
    if (!Number.isInteger(v) || v <= 0) throw new TypeError(`QUIC channel option ${name} must be a positive integer, got ${String(v)}`)
  }
  if (r.maxFrameBytes > 0xffffffff) throw new TypeError(`QUIC channel option maxFrameBytes must fit a u32, got ${r.maxFrameBytes}`)
  if (r.keepAliveIntervalMs >= r.maxIdleTimeoutMs) {
    throw new TypeError(`QUIC channel option keepAliveIntervalMs (${r.keepAliveIntervalMs}) must be below maxIdleTimeoutMs (${r.maxIdleTimeoutMs})`)
  }
  return r
}

/**
 * The QUIC settings both ends use. Neither end checks the other's certificate against a CA: the
 * mesh-key handshake, bound to the server certificate's fingerprint, authenticates both. Each
 * connection carries exactly one client-opened bidirectional stream, so the stream limits say so
 * and a peer cannot make us keep more.
 */
export function quicConfig (t: ResolvedTuning, role: 'client' | 'server'): Partial<QUICConfig> {
  return {
    verifyPeer: false,
    applicationProtos: [CONTROL_ALPN],
    maxIdleTimeout: t.maxIdleTimeoutMs,
    keepAliveIntervalTime: t.keepAliveIntervalMs,
    // Limits the streams the *peer* may open: a client may open one, a server none.
    initialMaxStreamsBidi: role === 'server' ? 1 : 0,
    initialMaxStreamsUni: 0
  }
}
