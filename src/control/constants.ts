/** Control-channel timing both ends share; docs/routing.md explains them. */

/** QUIC keepalive on control channels, so a silent controller or relay is noticed quickly. */
export const CONTROL_KEEPALIVE_MS = 500
/** A control channel with no traffic (keepalives included) for this long is closed. */
export const CONTROL_IDLE_TIMEOUT_MS = 3_000
