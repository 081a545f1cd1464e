/**
 * Defaults for the QUIC message channel. Each was chosen for the relay↔controller control channel
 * (the first channel type; its ALPN is in src/control/constants.ts):
 * small messages, a few per second, and a peer that must notice a dead link within seconds.
 */

/**
 * Largest frame body accepted or sent, in bytes. A full forwarding table for a 1,000-relay mesh is
 * well under this; anything larger is a bug or an attack, and closes the channel.
 */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024

/** Bytes of the frame header: the body length as a u32, big-endian. */
export const FRAME_HEADER_BYTES = 4

/**
 * QUIC idle timeout. @matrixai/quic defaults to infinite, which leaks a server-side connection
 * whenever a peer vanishes without a CONNECTION_CLOSE. 15 s tolerates several lost keepalives.
 */
export const DEFAULT_MAX_IDLE_TIMEOUT_MS = 15_000

/**
 * Longest a channel stays silent before it sends a keepalive PING (idle-keepalive.ts): a third of
 * the idle timeout, so two may be lost before it fires.
 */
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 5_000

/** Time a client waits for the QUIC handshake to complete. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000

/** Time both ends allow the authentication hook, counted from the stream's first byte. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5_000

/**
 * Connections a server lets wait between the QUIC handshake's start (past address validation by
 * stateless retry) and the authentication hook's verdict, in total and per source IP address. Each holds TLS
 * and connection state until it is authenticated or its handshake timeout ends it. The per-source
 * default admits 1,000 clients starting at once from one loopback address (the controller's
 * 1,000-relay runs and the signaling load driver do that); one address still holds at most a
 * quarter of the server's slots. Beyond either cap the Initial packet is dropped and counted; the
 * client's QUIC stack resends it, so a refused client gets in once slots free up.
 */
export const DEFAULT_MAX_PENDING_HANDSHAKES = 4096
export const DEFAULT_MAX_PENDING_PER_SOURCE = 1024

/** Time close() waits for queued frames to flush and the peer to end its side, before forcing. */
export const DEFAULT_CLOSE_GRACE_MS = 1_000

/**
 * TLS alert no_application_protocol (120) as a QUIC transport error code (0x100 + alert): what a
 * client sees when the server serves no channel type of the ALPN it asked for.
 */
export const QUIC_NO_APPLICATION_PROTOCOL = 0x100 + 120

/** Longest ALPN protocol id TLS carries, in bytes. */
export const MAX_ALPN_BYTES = 255

/**
 * DNS name the client asks for (SNI) and the certificate carries. Server names must not be IP
 * literals: BoringSSL's name check rejects them even with a matching IP SAN.
 */
export const SERVER_NAME = 'relaymesh.local'

/**
 * QUIC application close codes (CONNECTION_CLOSE, isApp = true). The reason phrase carries the
 * human-readable text; the code lets a peer tell the cases apart without parsing it.
 */
export const CloseCode = {
  /** An orderly close by either side; the reason says why. */
  NORMAL: 0,
  /** The peer failed the channel's authentication hook, or sent something outside its protocol. */
  AUTH_FAILED: 1,
  /** A frame was oversized, not UTF-8, or not JSON. */
  PROTOCOL_ERROR: 2,
  /** The server is stopping. */
  SHUTDOWN: 3,
  /** The handshake did not complete in time. */
  HANDSHAKE_TIMEOUT: 4
} as const
export type CloseCode = typeof CloseCode[keyof typeof CloseCode]
