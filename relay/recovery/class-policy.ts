import { TrafficClass } from '../../src/wire/constants.js'

/**
 * How per-hop recovery treats a traffic class (docs/recovery.md):
 * - `deadline`: a lost packet is sent again only while the copy can still arrive within the
 *   class's added-latency budget (audio, video);
 * - `reliable`: sent again until the next hop acknowledges it, up to a bound (signaling);
 * - `none`: never sent again (bulk), and the first to go when a send queue is full.
 */
export type RecoveryMode = 'deadline' | 'reliable' | 'none'

export interface ClassPolicy {
  mode: RecoveryMode
  /** Added latency a packet of the class may gather on its way, in ms; 0 for none. */
  budgetMs: number
  /** Send-queue priority: a fuller queue drops lower ones first (bulk 0 … signaling 3). */
  priority: number
}

/** Audio: recovered only while it can still arrive within 100 ms more than its path takes. */
export const DEFAULT_AUDIO_BUDGET_MS = 100
/** Video: a longer budget, since a late frame still beats a keyframe request. */
export const DEFAULT_VIDEO_BUDGET_MS = 250

/** The budget field is 16 bits of milliseconds (docs/wire.md, "remaining deadline"). */
export const MAX_BUDGET_MS = 0xffff

/** The class a traffic-class byte names; values the mesh does not schedule count as bulk. */
export function classOf (trafficClass: number): number {
  return trafficClass === TrafficClass.AUDIO || trafficClass === TrafficClass.VIDEO || trafficClass === TrafficClass.SIGNALING ? trafficClass : TrafficClass.BULK
}

/** The policies by class, with the budgets a relay was configured with. */
export function classPolicies (budgets: { audioMs?: number, videoMs?: number } = {}): ReadonlyMap<number, ClassPolicy> {
  const audio = budgets.audioMs ?? DEFAULT_AUDIO_BUDGET_MS
  const video = budgets.videoMs ?? DEFAULT_VIDEO_BUDGET_MS
  for (const [name, v] of [['audio', audio], ['video', video]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > MAX_BUDGET_MS) throw new TypeError(`${name} recovery budget ${String(v)} ms is out of range; use a whole number of ms from 1 to ${MAX_BUDGET_MS}`)
  }
  return new Map<number, ClassPolicy>([
    [TrafficClass.BULK, { mode: 'none', budgetMs: 0, priority: 0 }],
    [TrafficClass.VIDEO, { mode: 'deadline', budgetMs: video, priority: 1 }],
    [TrafficClass.AUDIO, { mode: 'deadline', budgetMs: audio, priority: 2 }],
    [TrafficClass.SIGNALING, { mode: 'reliable', budgetMs: 0, priority: 3 }]
  ])
}
