/**
 * The QUIC message channel: length-prefixed JSON frames over one bidirectional stream of an
 * authenticated QUIC connection. A channel type is an ALPN plus an authentication hook; the
 * transport knows no credential. This module is its public face; the parts live beside it:
 * - quic-channel.ts: the Channel itself (framing, delivery, the ways it closes)
 * - server.ts / client.ts: accepting and dialling, each running the channel type's hook
 * - auth.ts: the hook contract, its deadline and how a refusal reaches the client
 * - handshake-limit.ts: the caps on connections waiting for their hook, for every channel type
 * - certs.ts: the self-signed TLS identity a server makes for itself
 * The control channel's mesh-key hook is in src/control/mesh-key-auth.ts.
 */
export { createQuicServer } from './server.js'
export { connectQuic } from './client.js'
export { QuicChannel, describeConnectionClose } from './quic-channel.js'
export { HandshakeError, type AuthContext, type ClientAuth, type HandshakeFailure, type HandshakeIo, type ServerAuth } from './auth.js'
export { generateTlsIdentity, certFingerprint, type TlsIdentity } from './certs.js'
export { CloseCode, DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_IDLE_TIMEOUT_MS, DEFAULT_KEEPALIVE_INTERVAL_MS, DEFAULT_HANDSHAKE_TIMEOUT_MS } from './constants.js'
export type { Channel, ChannelCloseInfo, ChannelEvents, ChannelTuning, ConnectQuicOptions, QuicServer, QuicServerOptions } from './types.js'
