/**
 * The QUIC message channel: length-prefixed JSON frames over one bidirectional stream of an
 * authenticated QUIC connection. This module is its public face; the parts live beside it:
 * - quic-channel.ts: the Channel itself (framing, delivery, the ways it closes)
 * - server.ts / client.ts: accepting and dialling, each with the mesh-key handshake
 *   (src/control/handshake.ts)
 * - certs.ts: the self-signed TLS identity a server makes for itself
 */
export { createQuicServer } from './server.js'
export { connectQuic } from './client.js'
export { QuicChannel, describeConnectionClose } from './quic-channel.js'
export { generateTlsIdentity, certFingerprint, type TlsIdentity } from './certs.js'
export { CloseCode, DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_IDLE_TIMEOUT_MS, DEFAULT_KEEPALIVE_INTERVAL_MS, DEFAULT_HANDSHAKE_TIMEOUT_MS } from './constants.js'
export type { Channel, ChannelCloseInfo, ChannelEvents, ChannelTuning, ConnectQuicOptions, QuicServer, QuicServerOptions } from './types.js'
