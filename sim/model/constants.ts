/**
 * Model-mode choices that have no counterpart in a real deployment; docs/simulation.md explains
 * how model and process mode line up. Timing the real components define (probe interval, report
 * schedule, compute debounce, ack timeout, idle timeout) is imported from them, not restated.
 */

/**
 * The warm-up before the scenario's t = 0, as process mode's (sim/process/runner.ts): the mesh runs
 * until the controller's graph routes every relay to every other and no table version has started
 * for WARMUP_REST_MS, checked every WARMUP_POLL_MS, or until WARMUP_LIMIT_MS. Flows that start at
 * 0 then meet converged routes rather than first measurements.
 */
export const WARMUP_REST_MS = 3_000
export const WARMUP_LIMIT_MS = 60_000
export const WARMUP_POLL_MS = 250

/** Relays start at spread-out times within this window at the beginning of the warm-up (ms). */
export const STARTUP_SPREAD_MS = 200

/**
 * After the scenario ends, packets already in flight still get this long to arrive (ms); nothing
 * new is sent. Without it a flow's last packets would count as lost.
 */
export const DRAIN_MS = 2_000

/**
 * One-way delay of the control channel (ms) when the controller's place is unknown. With relay
 * locations, the controller sits at the first relay's location and each relay's control delay is
 * the great-circle delay to it (sim/scenario.ts oneWayDelayMs).
 */
export const DEFAULT_CONTROL_DELAY_MS = 10


/** Up to this many relays, final_routes lists every pair; beyond, only pairs of flow endpoints. */
export const FINAL_ROUTES_ALL_MAX = 100
