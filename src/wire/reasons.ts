/**
 * Why a packet was dropped. The numeric values index counter arrays on the hot path; the names are
 * the `reason` label of relaymesh_packets_dropped_total and are part of the metrics contract.
 * New reasons are appended, so existing numbers never change.
 */
export const Reason = {
  OK: 0,
  MALFORMED: 1,
  BAD_AUTH: 2,
  REPLAY: 3,
  TTL_EXPIRED: 4,
  NO_ROUTE: 5,
  QUEUE_FULL: 6,
  UNKNOWN_SERVICE: 7,
  TOO_BIG: 8,
  EGRESS_DENIED: 9,
  /**
   * A packet in transit came back to the relay that originated it (it bears this relay's own
   * source number). Other loops end when the TTL runs out.
   */
  LOOP: 10,
  /** A datagram of another wire version (a v1 relay, or not relaymesh at all). */
  BAD_VERSION: 11,
  /**
   * Lost on the next link, and per-hop recovery could not bring it back: a copy could no longer
   * arrive within its class's budget, or a reliable packet went unacknowledged to the bound
   * (docs/recovery.md). Counted by the relay that sent it on that link.
   */
  UNRECOVERABLE: 12
} as const
export type Reason = typeof Reason[keyof typeof Reason]

/** Label for each reason, indexed by its number. */
export const REASON_NAMES = [
  'ok', 'malformed', 'bad_auth', 'replay', 'ttl_expired', 'no_route', 'queue_full',
  'unknown_service', 'too_big', 'egress_denied', 'loop', 'bad_version', 'unrecoverable'
] as const
export type DropReasonName = Exclude<typeof REASON_NAMES[number], 'ok'>

export const REASON_COUNT = REASON_NAMES.length
