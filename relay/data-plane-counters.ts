import { REASON_COUNT } from '../src/wire/reasons.js'

/** Counters the data plane keeps; plain numbers so the hot path never touches a metrics library. */
export class DataPlaneCounters {
  received = 0
  forwarded = 0
  originated = 0
  /** Sessions confirmed (a peer's new boot accepted). */
  sessions = 0
  /** Indexed by Reason. */
  readonly dropped = new Float64Array(REASON_COUNT)
  /** Delivered packets per service id. */
  readonly delivered = new Map<number, number>()
}
