/** Defaults for link probing; docs/probing.md explains each. */

/** Regular probe interval per neighbour: 5 probes a second. */
export const DEFAULT_PROBE_INTERVAL_MS = 200
/** Probe interval while an echo is overdue ("quick retries"). */
export const DEFAULT_FAST_INTERVAL_MS = 20
/** Probe interval for a while after a probe or echo goes missing ("alert probing"). */
export const DEFAULT_ALERT_INTERVAL_MS = 25
/** Alert probing lasts this long after the last loss seen (ms). */
export const DEFAULT_ALERT_HOLD_MS = 1_000
/** Alert probing starts, or goes on, only while round-trip loss over the short window is this high. */
export const DEFAULT_ALERT_MIN_LOSS = 0.05
/** Consecutive echoes, after a down, before a link is up again. */
export const DEFAULT_UP_AFTER = 5
/** Extra allowance for jitter when deciding an echo is overdue (ms). */
export const MIN_LATE_MARGIN_MS = 10
/** Extra allowance, beyond 3 intervals plus the smoothed RTT, before declaring a link down (ms). */
export const DOWN_MARGIN_MS = 25
/** Long loss window: the figure reported to the controller (ms). */
export const DEFAULT_LOSS_WINDOW_MS = 10_000
/** Short loss window: reacts quickly to a link that turns bad (ms). */
export const DEFAULT_SHORT_LOSS_WINDOW_MS = 1_000
/** Link reports go out this often, and at once on a state change or threshold crossing (ms). */
export const DEFAULT_REPORT_INTERVAL_MS = 1_000
/** The reporter checks whether a report is due this often (ms), so a crossing leaves at once. */
export const REPORT_CHECK_MS = 50
/** Loss-ratio thresholds whose crossing sends a report at once. */
export const DEFAULT_LOSS_THRESHOLDS = [0.01, 0.05, 0.1, 0.2, 0.3, 0.5]
/** A relative RTT change this large sends a report at once. */
export const DEFAULT_RTT_CHANGE = 0.25
/** How often the prober's scheduler wakes to send due probes (ms). */
export const TICK_MS = 5
