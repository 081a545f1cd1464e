/** Control-channel timing both ends share; docs/routing.md explains them. */

/**
 * A control channel with no traffic (keepalives included) for this long is closed: how soon a
 * silent controller or relay is noticed.
 */
export const CONTROL_IDLE_TIMEOUT_MS = 3_000
/**
 * Keepalives on the control channel: the longest an end stays silent before it PINGs
 * (src/transport/quic/idle-keepalive.ts; silence then lasts up to 5/4 of it). The relay reports
 * every second, so it pings only when it has nothing to report (it follows a standby); its reports
 * or PINGs, and the controller's acknowledgements of them, keep both ends' idle timers fresh. The
 * controller sends none: one that pinged 1,000 relays twice a second spent more on that than on
 * their reports. A lost PING is re-sent as a QUIC loss probe well within the idle timeout.
 */
export const CONTROL_CLIENT_KEEPALIVE_MS = 1_500
export const CONTROL_SERVER_KEEPALIVE_MS = 0
/**
 * UDP buffers the controller asks for. 1,000 relays' reports, acknowledgements and handshakes
 * arrive in bursts that overflow Linux's default 208 kB receive buffer; the kernel caps the ask at
 * net.core.rmem_max / wmem_max.
 */
export const CONTROL_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024

/** A relay's reconnect backoff: doubles from the first value, capped so relays find a standby in time. */
export const RECONNECT_MIN_MS = 100
export const RECONNECT_MAX_MS = 1_000

/**
 * ALPN protocol id of the control channel. A client asking a control server for another channel
 * type (or a control client reaching another channel's server) fails the TLS handshake.
 */
export const CONTROL_ALPN = 'relaymesh-control/1'
