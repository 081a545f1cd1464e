import type { Feedback } from './gap-tracker.js'

/**
 * The sending end of one link's per-hop recovery (docs/recovery.md): the recent recoverable
 * packets by link sequence, and the decision to send one again. Pure: every call takes `now`
 * (ms); the packet type `P` is whatever the shell keeps (the relay keeps the datagram).
 *
 * A packet is kept with the time it was first sent on this link and the added-latency budget it
 * had left then. A copy sent `elapsed` ms later arrives `elapsed` ms later than the original would
 * have, so it goes only while `elapsed` ≤ that budget, and carries `budget − elapsed` on. A
 * reliable packet (signaling) has no budget: it goes again until the feedback acknowledges it or
 * it has been sent `maxAttempts` times. Copies are new link packets (a new link sequence); the
 * shell records each one again under its new sequence with `again`.
 *
 * A copy is the last chance when its budget could not wait for another round (`elapsed` plus two
 * RTTs exceeds it): noticing that the copy too was lost takes its trip, a later packet's (or the
 * silence after it) and the ask's. Such a copy is sent twice (`count` 2, credit allowing) and not
 * kept, so a link losing 20% leaves about 0.8% lost rather than 4%.
 */
/** A copy whose budget left is under this many RTTs is a last chance. */
export const LAST_CHANCE_RTTS = 2

export interface RetransmitOptions {
  /** Packets kept per link (a ring by link sequence); older ones can no longer be sent again. */
  slots?: number
  /** Copies may be at most this share of the packets sent on the link (0.3: 30%). */
  capRatio?: number
  /** Copies that may go in one burst when credit has built up. */
  maxBurst?: number
  /** A reliable packet is sent this many times at most (the first send included). */
  maxAttempts?: number
}

export const DEFAULT_SLOTS = 1024
export const DEFAULT_CAP_RATIO = 0.3
export const DEFAULT_MAX_BURST = 16
export const DEFAULT_MAX_ATTEMPTS = 8
/** A reliable packet unacknowledged after RTT × this (plus the ack delay) is sent again. */
export const RTO_RTT_FACTOR = 2
/** Floor of the reliable retransmission timeout (ms): RTT estimates of a few ms are jittery. */
export const MIN_RTO_MS = 20

/** Why a copy did or did not go. */
export const enum Resend {
  /** Send a copy now. */
  SEND = 0,
  /** Not kept: never recoverable, overwritten, or already acknowledged. */
  UNKNOWN = 1,
  /** Its budget no longer covers the delay a copy would add: counted as unrecoverable. */
  LATE = 2,
  /** Over the link's cap of copies: left for the receiver to ask again. */
  CAPPED = 3,
  /** A reliable packet sent maxAttempts times: delivery failed. */
  GAVE_UP = 4
}

export class RetransmitStats {
  /** Copies decided (each a retransmission on the link). */
  resent = 0
  /** Asked for but past their budget. */
  unrecoverable = 0
  /** Asked for but held back by the cap. */
  capped = 0
  /** Reliable packets given up after maxAttempts. */
  failed = 0
  /** Asked for but not kept. */
  unknown = 0
}

/** What `resend` hands the shell to send: the packet, and the budget to write into the copy. */
export interface Copy<P> {
  packet: P
  /** To write into the copy's remaining-deadline field: what is left after the delay it adds. */
  budgetMs: number
  reliable: boolean
  /** When the packet was first sent on this link, and the budget it had then. */
  firstSentMs: number
  firstBudgetMs: number
  /** Sends so far, this copy included (reliable packets). */
  attempts: number
  /** Copies to send: 2 for a last chance. */
  count: number
}

export class RetransmitBuffer<P> {
  readonly stats = new RetransmitStats()
  private readonly slots: number
  private readonly capRatio: number
  private readonly maxBurst: number
  private readonly maxAttempts: number
  private readonly seqs: Float64Array
  private readonly packets: Array<P | undefined>
  private readonly firstSent: Float64Array
  private readonly budgets: Float64Array
  /** Sends so far; negative: not reliable. */
  private readonly attempts: Int8Array
  /** Last send of each reliable slot, for its timeout. */
  private readonly lastSent: Float64Array
  /** Reliable packets kept and not yet acknowledged. */
  private reliableCount = 0
  private credit: number
  /** The highest sequence kept so far. */
  private top = -1

  constructor (opts: RetransmitOptions = {}) {
    this.slots = opts.slots ?? DEFAULT_SLOTS
    this.capRatio = opts.capRatio ?? DEFAULT_CAP_RATIO
    this.maxBurst = opts.maxBurst ?? DEFAULT_MAX_BURST
    this.maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS
    if (!Number.isInteger(this.slots) || this.slots < 1) throw new TypeError(`retransmit slots must be a positive whole number, got ${String(this.slots)}`)
    if (!(this.capRatio >= 0 && this.capRatio <= 1)) throw new TypeError(`retransmit capRatio must be from 0 to 1, got ${String(this.capRatio)}`)
    if (!(this.maxBurst >= 1)) throw new TypeError(`retransmit maxBurst must be at least 1, got ${String(this.maxBurst)}`)
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1 || this.maxAttempts > 127) throw new TypeError(`retransmit maxAttempts must be a whole number from 1 to 127, got ${String(this.maxAttempts)}`)
    this.seqs = new Float64Array(this.slots).fill(-1)
    this.packets = new Array<P | undefined>(this.slots).fill(undefined)
    this.firstSent = new Float64Array(this.slots)
    this.budgets = new Float64Array(this.slots)
    this.attempts = new Int8Array(this.slots)
    this.lastSent = new Float64Array(this.slots)
    this.credit = this.maxBurst
  }

  /**
   * A packet went out on the link under `seq`. Every datagram sent on the link earns the cap its
   * share, recoverable or not; only recoverable ones (`budgetMs` > 0, or `reliable`) are kept.
   */
  sent (seq: number, now: number, packet: P | undefined, budgetMs: number, reliable: boolean): void {
    this.credit = Math.min(this.maxBurst, this.credit + this.capRatio)
    if (packet === undefined || (!reliable && budgetMs <= 0)) return
    this.keep(seq, packet, now, now, budgetMs, reliable ? 1 : -1)
  }

  /** A copy went out under the new sequence `seq`: kept again, with its first send's time and its attempts. */
  again (seq: number, now: number, copy: Copy<P>): void {
    // A copy is a datagram on the link too: the cap is a share of everything the link carries.
    this.credit = Math.min(this.maxBurst, this.credit + this.capRatio)
    this.keep(seq, copy.packet, copy.firstSentMs, now, copy.firstBudgetMs, copy.reliable ? copy.attempts : -1)
  }

  private keep (seq: number, packet: P, firstSent: number, now: number, budgetMs: number, attempts: number): void {
    const i = seq % this.slots
    if (this.attempts[i] > 0 && this.packets[i] !== undefined) this.reliableCount--
    if (seq > this.top) this.top = seq
    this.seqs[i] = seq
    this.packets[i] = packet
    this.firstSent[i] = firstSent
    this.lastSent[i] = now
    this.budgets[i] = budgetMs
    this.attempts[i] = attempts
    if (attempts > 0) this.reliableCount++
  }

  /**
   * The receiver's feedback: acknowledges reliable packets up to `highest` that it does not list
   * as missing, and asks for the missing ones. Calls `send` for each copy to send now.
   */
  feedback (fb: Feedback, now: number, rttMs: number, send: (c: Copy<P>) => void, failed: (packet: P) => void): void {
    if (this.reliableCount > 0) this.acknowledge(fb)
    // Sequences asked for beyond what was sent (a silent link's asks, docs/recovery.md) must not
    // meet the copies sent under them while this feedback is served.
    const top = this.top
    for (const seq of fb.missing) {
      if (seq > top || (seq > fb.highest && this.inFlight(seq, now, rttMs))) continue
      const c = this.resend(seq, now, rttMs, failed)
      if (typeof c === 'object') send(c)
    }
  }

  /**
   * Whether `seq` may still be on its way: sent less than an RTT ago, it could not have arrived
   * before the feedback left. Asked for only because the link fell silent, it is not sent again.
   */
  private inFlight (seq: number, now: number, rttMs: number): boolean {
    const i = seq % this.slots
    return this.seqs[i] === seq && now - this.lastSent[i] < rttMs
  }

  private acknowledge (fb: Feedback): void {
    const missing = fb.missing.length === 0 ? undefined : new Set(fb.missing)
    for (let i = 0; i < this.slots; i++) {
      const s = this.seqs[i]
      if (this.attempts[i] <= 0 || this.packets[i] === undefined || s > fb.highest || missing?.has(s) === true) continue
      this.drop(i)
    }
  }

  private drop (i: number): void {
    if (this.attempts[i] > 0 && this.packets[i] !== undefined) this.reliableCount--
    this.packets[i] = undefined
    this.seqs[i] = -1
  }

  /**
   * Decides on a copy of `seq`: a Copy to send (the slot is then free until `again`), or why not.
   * A reliable packet given up goes to `failed`. `rttMs`: the link's, to tell a last chance.
   */
  resend (seq: number, now: number, rttMs: number, failed: (packet: P) => void): Copy<P> | Resend {
    const i = seq % this.slots
    const packet = this.packets[i]
    if (packet === undefined || this.seqs[i] !== seq) { this.stats.unknown++; return Resend.UNKNOWN }
    const reliable = this.attempts[i] > 0
    const elapsed = now - this.firstSent[i]
    if (!reliable && elapsed > this.budgets[i]) {
      this.stats.unrecoverable++
      this.drop(i)
      return Resend.LATE
    }
    if (reliable && this.attempts[i] >= this.maxAttempts) {
      this.stats.failed++
      this.drop(i)
      failed(packet)
      return Resend.GAVE_UP
    }
    if (this.credit < 1) { this.stats.capped++; return Resend.CAPPED }
    const count = !reliable && elapsed + LAST_CHANCE_RTTS * rttMs > this.budgets[i] && this.credit >= 2 ? 2 : 1
    this.credit -= count
    this.stats.resent += count
    const copy: Copy<P> = { packet, budgetMs: reliable ? 0 : this.budgets[i] - elapsed, reliable, firstSentMs: this.firstSent[i], firstBudgetMs: this.budgets[i], attempts: reliable ? this.attempts[i] + 1 : 0, count }
    this.drop(i)
    return copy
  }

  /**
   * Reliable packets whose acknowledgement is overdue (`rttMs` × RTO_RTT_FACTOR + `ackDelayMs`
   * since their last send, at least MIN_RTO_MS): each is sent again through `send`, or given up
   * through `failed`. A lost last packet leaves no gap to ask for, so only this recovers it.
   */
  expire (now: number, rttMs: number, ackDelayMs: number, send: (c: Copy<P>) => void, failed: (packet: P) => void): void {
    if (this.reliableCount === 0) return
    const rto = Math.max(MIN_RTO_MS, rttMs * RTO_RTT_FACTOR + ackDelayMs)
    for (let i = 0; i < this.slots; i++) {
      if (this.attempts[i] <= 0 || this.packets[i] === undefined || now - this.lastSent[i] < rto) continue
      const c = this.resend(this.seqs[i], now, rttMs, failed)
      if (typeof c === 'object') send(c)
    }
  }

  /** Reliable packets waiting for their acknowledgement. */
  get unacknowledged (): number { return this.reliableCount }

  /** The link session was replaced: what was kept can no longer be asked for. Returns the reliable packets dropped. */
  reset (): P[] {
    const lost: P[] = []
    for (let i = 0; i < this.slots; i++) {
      const p = this.packets[i]
      if (p !== undefined && this.attempts[i] > 0) lost.push(p)
      this.packets[i] = undefined
      this.seqs[i] = -1
    }
    this.reliableCount = 0
    return lost
  }
}
