/** Control-channel timing both ends share; docs/routing.md explains them. */

/** QUIC keepalive on control channels, so a silent controller or relay is noticed quickly. */
export const CONTROL_KEEPALIVE_MS = 500
/** A control channel with no traffic (keepalives included) for this long is closed. */
export const CONTROL_IDLE_TIMEOUT_MS = 3_000

/** A relay's reconnect backoff: doubles from the first value, capped so relays find a standby in time. */
export const RECONNECT_MIN_MS = 100
export const RECONNECT_MAX_MS = 1_000

/**
 * ALPN protocol id of the control channel. A client asking a control server for another channel
 * type (or a control client reaching another channel's server) fails the TLS handshake.
 */
export const CONTROL_ALPN = 'relaymesh-control/1'
