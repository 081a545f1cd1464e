/** Controller defaults; docs/routing.md explains each. */

/** Leadership lease lifetime. A standby takes over at most this long after the leader dies. */
export const LEASE_TTL_MS = 1_500
/** The leader renews its lease, and a standby tries to take it, this often. */
export const LEASE_RENEW_MS = 250
/** Reports arriving within this window are folded into one route computation. */
export const COMPUTE_DELAY_MS = 10
/**
 * Route computations are spaced (CoreOptions.computeSpacingMs 'auto', the daemon's default) once
 * more than LARGE_MESH_RELAYS relays are known: each starts LARGE_MESH_COMPUTE_SPACING_MS after the
 * previous one's rollout ended, reports in between held and taken in as one batch. At 1,000
 * relays a full computation costs about a second of CPU and each incremental link update about a
 * millisecond; the 10 ms debounce alone would rebuild the routes after nearly every report while
 * new links come up (start-up, every neighbour refresh), and update them link by link after that.
 * Spaced out, a refresh's new links are mostly taken in before the next computation, at the cost
 * of up to this much extra reaction time.
 */
export const LARGE_MESH_RELAYS = 100
export const LARGE_MESH_COMPUTE_SPACING_MS = 1_000
/**
 * With computations spaced, a batch of reports with at least this many cost changes rebuilds the
 * routes once instead of updating them link by link (controller/core/report-intake.ts). Measured
 * at 1,000 relays and 17,500 links: an incremental update cost 67 ms on average (a link that comes
 * up shortens the paths to ~200 destinations, each a Dijkstra), a rebuild 180 ms.
 */
export const REBUILD_MIN_CHANGES = 3
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
/**
 * GET /api/topology: within one table version, a body serves on for this long (ms) while link
 * figures move, before a request starts a fresh one (topology-cache.ts). Relays report about once
 * a second, so figures older than that would be older than the data behind them anyway.
 */
export const TOPOLOGY_MAX_AGE_MS = 1_000
/**
 * From this many relays, topology bodies are serialized on the route helper thread: at 64 relays
 * the routes alone are about 4,000 entries (~400 kB), a few ms of the event loop.
 */
export const TOPOLOGY_OFFLOAD_MIN_RELAYS = 64
/**
 * GET /api/topology: once the table version moves, a request waits this long (ms) for the new
 * version's body before the last body, labelled with its own version, answers instead. A small
 * mesh's body is built well within it; a 1,000-relay one takes about a second.
 */
export const TOPOLOGY_WAIT_MS = 50
/**
 * GET /api/topology: within one version, a body serves on for at least this many times as long as
 * it took to build, so that refreshing it keeps the helper thread busy at most about 1/5 of the
 * time (a 1,000-relay body takes about a second of a core: figures are then up to ~5 s old).
 */
export const TOPOLOGY_REFRESH_SHARE = 5
