import { Seen } from '../src/wire/replay-window.js'
import { Reason } from '../src/wire/reasons.js'

/**
 * What a relay does with a DATA packet it received that passed parsing and auth: a drop Reason
 * (TTL_EXPIRED, LOOP, REPLAY, NO_ROUTE), or one of these.
 */
export const Verdict = {
  /** Decrement the TTL and send it to the route's next hop. */
  FORWARD: -1,
  /** Hand it to the service it names: this relay is its destination. */
  DELIVER: -2
} as const

/**
 * The replay windows a verdict consults: ReplayWindows in the data plane; in the model, the relays
 * a packet has passed (sim/model/flow-runner.ts). Like ReplayWindows.check, it records a NEW packet.
 */
export interface SeenCheck {
  check: (src: number, boot: number, seq: number) => Seen
}

/**
 * The forwarding verdict for a DATA packet at relay `self`: the one rule the data plane
 * (relay/data-plane.ts) and the model's flow runner both follow. docs/wire.md gives the order.
 *
 * At its destination, a packet bearing our own source number, or already in the window, is a
 * replay. In transit the TTL comes first, so a copy with TTL 1 (the TTL is outside the tag) cannot
 * record a sequence and get the real packet refused; then our own source number, which can only
 * have come round a loop; then the window, checked at every hop: a duplicate in transit is a loop,
 * a stale one a replay; then the route. `routed` says whether a route to `dst` exists.
 *
 * No allocation and no closure: it is on the per-packet path. Its only effect is the window's
 * record of a NEW packet, made only once TTL and source passed.
 */
export function forwardVerdict (self: number, src: number, dst: number, ttl: number, boot: number, seq: number, window: SeenCheck, routed: boolean): number {
  if (dst === self) return src === self || window.check(src, boot, seq) !== Seen.NEW ? Reason.REPLAY : Verdict.DELIVER
  if (ttl <= 1) return Reason.TTL_EXPIRED
  if (src === self) return Reason.LOOP
  const seen = window.check(src, boot, seq)
  if (seen !== Seen.NEW) return seen === Seen.DUPLICATE ? Reason.LOOP : Reason.REPLAY
  return routed ? Verdict.FORWARD : Reason.NO_ROUTE
}
