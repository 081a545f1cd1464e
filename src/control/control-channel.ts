import type { ChannelTuning } from '../transport/quic/types.js'
import type { ClientAuth, ServerAuth } from '../transport/quic/auth.js'
import { CONTROL_ALPN, CONTROL_IDLE_TIMEOUT_MS, CONTROL_KEEPALIVE_MS } from './constants.js'
import { meshKeyClientAuth, meshKeyServerAuth } from './mesh-key-auth.js'

/**
 * The control channel is the QUIC transport (src/transport/quic) with its own ALPN, the mesh-key
 * hook and its own timing. The controller and the relay's control client spread these into
 * createQuicServer / connectQuic options, so both ends always agree.
 */
const CONTROL_TUNING: ChannelTuning = { keepAliveIntervalMs: CONTROL_KEEPALIVE_MS, maxIdleTimeoutMs: CONTROL_IDLE_TIMEOUT_MS }

export function controlServerChannel (meshKey: Buffer): ChannelTuning & { alpn: string, auth: ServerAuth<void> } {
  return { ...CONTROL_TUNING, alpn: CONTROL_ALPN, auth: meshKeyServerAuth(meshKey) }
}

export function controlClientChannel (meshKey: Buffer): ChannelTuning & { alpn: string, auth: ClientAuth } {
  return { ...CONTROL_TUNING, alpn: CONTROL_ALPN, auth: meshKeyClientAuth(meshKey) }
}
