import type { ChannelTuning } from '../transport/quic/types.js'
import type { ClientAuth, ServerAuth } from '../transport/quic/auth.js'
import { CONTROL_ALPN, CONTROL_CLIENT_KEEPALIVE_MS, CONTROL_IDLE_TIMEOUT_MS, CONTROL_SERVER_KEEPALIVE_MS, CONTROL_SOCKET_BUFFER_BYTES } from './constants.js'
import { meshKeyClientAuth, meshKeyServerAuth } from './mesh-key-auth.js'

/**
 * The control channel is the QUIC transport (src/transport/quic) with its own ALPN, the mesh-key
 * hook and its own timing. The controller and the relay's control client spread these into
 * createQuicServer / connectQuic options, so both ends always agree.
 */
export function controlServerChannel (meshKey: Buffer): ChannelTuning & { alpn: string, auth: ServerAuth<void>, socketBufferBytes: number } {
  return {
    maxIdleTimeoutMs: CONTROL_IDLE_TIMEOUT_MS,
    keepAliveIntervalMs: CONTROL_SERVER_KEEPALIVE_MS,
    socketBufferBytes: CONTROL_SOCKET_BUFFER_BYTES,
    alpn: CONTROL_ALPN,
    auth: meshKeyServerAuth(meshKey)
  }
}

export function controlClientChannel (meshKey: Buffer): ChannelTuning & { alpn: string, auth: ClientAuth } {
  return { maxIdleTimeoutMs: CONTROL_IDLE_TIMEOUT_MS, keepAliveIntervalMs: CONTROL_CLIENT_KEEPALIVE_MS, alpn: CONTROL_ALPN, auth: meshKeyClientAuth(meshKey) }
}
