/** Controller defaults; docs/routing.md explains each. */

/** Leadership lease lifetime. A standby takes over at most this long after the leader dies. */
export const LEASE_TTL_MS = 1_500
/** The leader renews its lease, and a standby tries to take it, this often. */
export const LEASE_RENEW_MS = 250
/** Reports arriving within this window are folded into one route computation. */
export const COMPUTE_DELAY_MS = 10
/** A table round waits this long for every relay's ack before the next round goes out anyway. */
export const ROUND_ACK_TIMEOUT_MS = 300
/** A connection that has not registered within this long is closed. */
export const REGISTER_TIMEOUT_MS = 5_000
/** Neighbour sets beyond the full-mesh size are re-drawn this often, so better links are found. */
export const NEIGHBOUR_REFRESH_MS = 30_000
/** Registrations within this window share one neighbour selection (ms). */
export const NEIGHBOUR_BATCH_MS = 100
/** Name of the leadership lease in the store. */
export const LEADER_LEASE = 'leader'
/**
 * A leader that found no links in the store waits this long at most (ms) for every live relay to
 * report once before it selects neighbours and computes routes (Controller settling).
 */
export const SETTLE_MAX_MS = 2_000
/**
 * A relay disconnected this long (ms) is forgotten: its registry entry, links and routes go, and
 * the store forgets it. One that comes back later registers as new. --relay-expiry overrides it.
 */
export const RELAY_EXPIRY_MS = 60_000
/** Disconnected relays are checked against the expiry this often at most (ms). */
export const RELAY_EXPIRY_SWEEP_MS = 5_000
/**
 * Store writes (StoreWriter) waiting to be sent at most. Writes to one field coalesce, so this is
 * reached only with Redis slow or down and many relays: ~3 fields a relay; beyond it writes drop.
 */
export const STORE_MAX_PENDING_WRITES = 10_000
/** Store writes sent and not yet answered, at most. */
export const STORE_MAX_IN_FLIGHT = 64
