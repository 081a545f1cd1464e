/**
 * V8 heap flags the daemons run with (docs/performance.md). They can only be given when Node starts;
 * cli/rerun.ts re-runs a command with them, and harnesses that start daemons give them directly.
 */
export const SEMI_SPACE_FLAG = '--max-semi-space-size'

/**
 * Young-generation size (MB per semi-space) for relays. A relay keeps almost nothing alive per
 * packet, so a small young generation is cheap to scavenge: with V8's default, grown to 16 MB by
 * the allocations of startup and traffic, each scavenge paused forwarding for 0.5–5 ms, long
 * enough at 60k packets/s to overflow a socket buffer; at 1 MB it pauses for ~0.1–0.3 ms, more
 * often (docs/performance.md).
 */
export const RELAY_SEMI_SPACE_MB = 1

/**
 * Model-mode simulation keeps many objects alive for tens to hundreds of milliseconds (echoes and
 * reports in flight, figures until the next report). With V8's default 16 MB young generation they
 * outlive it, and the collections of the old generation that follow cost a sixth of a 1,000-relay
 * run (300 s against 253 s measured).
 */
export const MODEL_SEMI_SPACE_MB = 64

/**
 * Node arguments that start `relaymesh relay` with its young-generation size given, so it does not
 * re-run itself: for harnesses that measure, signal or restart the relay process itself.
 */
export function relayNodeArgs (): string[] {
  return [`${SEMI_SPACE_FLAG}=${RELAY_SEMI_SPACE_MB}`]
}
