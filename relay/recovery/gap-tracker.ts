/**
 * The receiving end of one link's per-hop recovery (docs/recovery.md): which link sequences went
 * missing, when to ask for them (a NACK, batched and paced), and when to acknowledge what arrived
 * for the sender's reliable packets. Pure: every call takes `now` (ms); the shell sends the
 * feedback this returns and calls `poll` again every few ms while `pending` says there is work.
 */

export interface GapTrackerOptions {
  /** A gap is asked for only after this long, so a packet merely reordered is not (ms). */
  reorderMs?: number
  /** A sequence still missing is asked for again at most this many times in all. */
  maxAsks?: number
  /** Sequences tracked as missing at most; the oldest beyond are given up. */
  maxMissing?: number
  /** Feedback goes out at most this often (ms), so a burst of loss sends few NACKs. */
  minIntervalMs?: number
  /** Sequences one feedback asks for at most. */
  maxPerFeedback?: number
  /** A reliable packet is acknowledged within this long (ms); others ride along sooner. */
  ackDelayMs?: number
  /** A sequence missing for this long is given up whatever its asks (ms). */
  maxAgeMs?: number
  /** Sequences after the highest asked for when the link falls silent (TAIL_ASKS); 0: none. */
  tailAsks?: number
}

export const DEFAULT_REORDER_MS = 2
export const DEFAULT_MAX_ASKS = 2
export const DEFAULT_MAX_MISSING = 1024
export const DEFAULT_FEEDBACK_INTERVAL_MS = 5
export const DEFAULT_MAX_PER_FEEDBACK = 64
export const DEFAULT_ACK_DELAY_MS = 10
export const DEFAULT_MAX_AGE_MS = 2_000
/**
 * A link that carried recoverable packets and falls silent for 1.5 of their usual spacing may have
 * lost the latest ones, which no later packet would reveal: the sequences after the highest are
 * asked for then, up to this many at a time (ms of silence bound the asking: TAIL_ASK_MAX_MS).
 */
export const TAIL_ASKS = 4
export const TAIL_ASK_MAX_MS = 250
/**
 * Gaps are looked for only within this long (ms) of the last recoverable packet: on a link that
 * carries only probes and bulk nothing lost could be sent again, and asking would only add load.
 */
export const RECOVERABLE_RECENT_MS = 1_000

/** What the receiver tells the link's sender: the highest sequence seen and what is missing below it. */
export interface Feedback {
  highest: number
  missing: number[]
}

export class GapTrackerStats {
  /** Sequences seen missing (a gap opened). */
  gaps = 0
  /** Missing sequences that arrived after all (sent again, or late). */
  recovered = 0
  /** Missing sequences given up (asked too often, too old, or beyond maxMissing). */
  givenUp = 0
  /** Sequences asked for, counting each ask. */
  asked = 0
  /** Feedback messages due. */
  feedbacks = 0
}

export class GapTracker {
  readonly stats = new GapTrackerStats()
  private readonly reorderMs: number
  private readonly maxAsks: number
  private readonly maxMissing: number
  private readonly minIntervalMs: number
  private readonly maxPerFeedback: number
  private readonly ackDelayMs: number
  private readonly maxAgeMs: number
  private readonly tailAsks: number
  private highest = -1
  /** Missing sequence → [first seen missing, last asked (or -Infinity), asks]. In sequence order. */
  private readonly missing = new Map<number, [number, number, number]>()
  private lastFeedbackMs = -Infinity
  /** A reliable packet arrived: feedback is due by this time even with nothing missing. */
  private ackDueMs = Infinity
  /** Last arrival of a recoverable packet, and the smoothed spacing between them (ms). */
  private lastRecoverableMs = -Infinity
  private spacingMs = 0
  /** Sequences above the highest asked for while the link is silent, up to this one. */
  private tailAsked = -1

  constructor (opts: GapTrackerOptions = {}) {
    this.reorderMs = opts.reorderMs ?? DEFAULT_REORDER_MS
    this.maxAsks = opts.maxAsks ?? DEFAULT_MAX_ASKS
    this.maxMissing = opts.maxMissing ?? DEFAULT_MAX_MISSING
    this.minIntervalMs = opts.minIntervalMs ?? DEFAULT_FEEDBACK_INTERVAL_MS
    this.maxPerFeedback = opts.maxPerFeedback ?? DEFAULT_MAX_PER_FEEDBACK
    this.ackDelayMs = opts.ackDelayMs ?? DEFAULT_ACK_DELAY_MS
    this.maxAgeMs = opts.maxAgeMs ?? DEFAULT_MAX_AGE_MS
    this.tailAsks = opts.tailAsks ?? TAIL_ASKS
    for (const [k, v] of Object.entries({ reorderMs: this.reorderMs, maxAsks: this.maxAsks, maxMissing: this.maxMissing, minIntervalMs: this.minIntervalMs, maxPerFeedback: this.maxPerFeedback, ackDelayMs: this.ackDelayMs, maxAgeMs: this.maxAgeMs, tailAsks: this.tailAsks })) {
      if (!(Number.isFinite(v) && v >= 0)) throw new TypeError(`gap tracker option ${k} must be a finite number ≥ 0, got ${String(v)}`)
    }
    if (this.maxPerFeedback < 1 || this.maxMissing < 1) throw new TypeError('gap tracker options maxPerFeedback and maxMissing must be at least 1')
  }

  /**
   * A datagram with link sequence `seq` passed the link's checks. `wantsAck`: it is of a reliable
   * class, so the sender waits for it to be acknowledged. Returns true when it fills a gap.
   */
  receive (seq: number, now: number, wantsAck: boolean, recoverable = wantsAck): boolean {
    if (wantsAck && this.ackDueMs === Infinity) this.ackDueMs = now + this.ackDelayMs
    if (recoverable) {
      const gap = now - this.lastRecoverableMs
      if (gap < TAIL_ASK_MAX_MS) this.spacingMs = this.spacingMs === 0 ? gap : this.spacingMs + (gap - this.spacingMs) / 8
      this.lastRecoverableMs = now
    }
    if (seq > this.highest) {
      if (this.highest >= 0 && seq > this.highest + 1 && now - this.lastRecoverableMs <= RECOVERABLE_RECENT_MS) this.open(this.highest + 1, seq, now)
      this.highest = seq
      return false
    }
    const m = this.missing.get(seq)
    if (m === undefined) return false
    this.missing.delete(seq)
    this.stats.recovered++
    return true
  }

  /** Sequences [from, to) went missing. */
  private open (from: number, to: number, now: number): void {
    const n = to - from
    this.stats.gaps += n
    // Beyond maxMissing (a long outage) only the newest are worth asking for.
    const start = n > this.maxMissing ? to - this.maxMissing : from
    this.stats.givenUp += start - from
    for (let s = start; s < to; s++) this.missing.set(s, [now, -Infinity, 0])
    let excess = this.missing.size - this.maxMissing
    if (excess <= 0) return
    for (const s of this.missing.keys()) {
      this.missing.delete(s)
      this.stats.givenUp++
      if (--excess === 0) break
    }
  }

  /**
   * Feedback due now, or undefined. `rttMs`: the link's smoothed RTT, after which a sequence asked
   * for and still missing is asked for again.
   */
  poll (now: number, rttMs: number): Feedback | undefined {
    if (now - this.lastFeedbackMs < this.minIntervalMs) return undefined
    const ask: number[] = []
    for (const [s, m] of this.missing) {
      if (now - m[0] >= this.maxAgeMs || (m[2] >= this.maxAsks && now - m[1] >= rttMs + this.reorderMs)) {
        this.missing.delete(s)
        this.stats.givenUp++
        continue
      }
      if (ask.length >= this.maxPerFeedback || m[2] >= this.maxAsks) continue
      const due = m[2] === 0 ? m[0] + this.reorderMs : m[1] + rttMs + this.reorderMs
      if (now < due) continue
      m[1] = now
      m[2]++
      ask.push(s)
    }
    const highest = this.highest
    const tail = this.tailDue(now)
    if (tail > highest && ask.length + (tail - highest) <= this.maxPerFeedback) {
      for (let s = Math.max(highest, this.tailAsked) + 1; s <= tail; s++) ask.push(s)
      this.tailAsked = tail
    }
    if (ask.length === 0 && now < this.ackDueMs) return undefined
    this.lastFeedbackMs = now
    this.ackDueMs = Infinity
    this.stats.asked += ask.length
    this.stats.feedbacks++
    return { highest, missing: ask }
  }

  /** The last sequence to ask for after the highest because the link fell silent, or the highest. */
  private tailDue (now: number): number {
    const silence = now - this.lastRecoverableMs
    if (this.tailAsks === 0 || this.spacingMs <= 0 || silence > TAIL_ASK_MAX_MS || silence < 1.5 * this.spacingMs + this.reorderMs) return this.highest
    const upTo = this.highest + Math.min(this.tailAsks, Math.floor(silence / this.spacingMs))
    return upTo > Math.max(this.tailAsked, this.highest) ? upTo : this.highest
  }

  /** When `poll` may next ask for a gap or acknowledge (ms; Infinity for neither). Silent-tail asks are not counted: `pending` covers them. */
  nextWakeMs (rttMs: number): number {
    let at = this.ackDueMs
    for (const m of this.missing.values()) {
      const due = m[2] === 0 ? m[0] + this.reorderMs : m[1] + rttMs + this.reorderMs
      if (due < at) at = due
    }
    return at === Infinity ? Infinity : Math.max(at, this.lastFeedbackMs + this.minIntervalMs)
  }

  /** Something to ask for or acknowledge, or a silence to watch: `poll` has work to do. */
  pending (now: number): boolean {
    return this.missing.size > 0 || this.ackDueMs !== Infinity || (this.spacingMs > 0 && now - this.lastRecoverableMs <= TAIL_ASK_MAX_MS)
  }

  /** Sequences missing now, for inspection. */
  get missingCount (): number { return this.missing.size }

  /** The link session was replaced (new keys, sequences from 0): forget everything. */
  reset (): void {
    this.highest = -1
    this.tailAsked = -1
    this.missing.clear()
    this.ackDueMs = Infinity
  }
}
