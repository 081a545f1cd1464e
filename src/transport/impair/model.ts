import { Prng } from '../../prng.js'

/** Gilbert–Elliott burst loss: a two-state Markov chain stepped once per packet. */
export interface BurstLoss {
  /** Probability of moving from the good state to the bad one, per packet. */
  pGoodToBad: number
  /** Probability of moving from the bad state back to the good one, per packet. */
  pBadToGood: number
  /** Loss probability in the good state. */
  lossGood: number
  /** Loss probability in the bad state. */
  lossBad: number
}

/** Impairments of one direction of one link. All can change at runtime. */
export interface ImpairParams {
  /** Bernoulli loss probability, 0 to 1. */
  loss: number
  /** Burst loss on top of `loss`; null for none. */
  burst: BurstLoss | null
  /** Fixed one-way delay (ms). */
  delayMs: number
  /** Uniform jitter: each packet's delay moves by up to ± this (ms). */
  jitterMs: number
  /** Allow jitter to reorder packets; by default a packet never overtakes an earlier one. */
  reorder: boolean
  /** Rate limit in packets per second; 0 for none. */
  ratePps: number
  /** Packets that may wait for the rate limiter; more are dropped. */
  queueLimit: number
  /** While true, every packet is lost, including those already in flight. */
  outage: boolean
}

export const NO_IMPAIRMENT: ImpairParams = {
  loss: 0, burst: null, delayMs: 0, jitterMs: 0, reorder: false, ratePps: 0, queueLimit: 1000, outage: false
}

export type DropCause = 'loss' | 'burst' | 'outage' | 'queue'

export class ImpairStats {
  offered = 0
  delivered = 0
  dropped: Record<DropCause, number> = { loss: 0, burst: 0, outage: 0, queue: 0 }
}

/**
 * Decides the fate of each packet on an impaired link. Pure: given the arrival time it returns when
 * to deliver the packet, or -1 to drop it; the caller owns timers and sockets. Same seed, same
 * arrivals → same decisions.
 */
export class ImpairmentModel {
  params: ImpairParams
  readonly stats = new ImpairStats()
  private readonly rng: Prng
  private bad = false
  private lastDeliverAt = 0
  private nextFree = 0
  /** Why the last decide() dropped, when it returned -1. */
  lastCause: DropCause = 'loss'

  constructor (params: Partial<ImpairParams> = {}, seed = 1) {
    this.params = { ...NO_IMPAIRMENT, ...params }
    this.rng = new Prng(seed)
  }

  set (params: Partial<ImpairParams>): void {
    this.params = { ...this.params, ...params }
  }

  decide (now: number): number {
    const p = this.params
    this.stats.offered++
    if (p.outage) return this.drop('outage')
    if (p.burst !== null) {
      const b = p.burst
      this.bad = this.bad ? this.rng.next() >= b.pBadToGood : this.rng.next() < b.pGoodToBad
      if (this.rng.next() < (this.bad ? b.lossBad : b.lossGood)) return this.drop('burst')
    }
    if (p.loss > 0 && this.rng.next() < p.loss) return this.drop('loss')
    let depart = now
    if (p.ratePps > 0) {
      const gap = 1000 / p.ratePps
      const queued = Math.max(0, this.nextFree - now) / gap
      if (queued >= p.queueLimit) return this.drop('queue')
      depart = Math.max(now, this.nextFree)
      this.nextFree = depart + gap
    }
    let at = depart + p.delayMs
    if (p.jitterMs > 0) at += (this.rng.next() * 2 - 1) * p.jitterMs
    if (!p.reorder && at < this.lastDeliverAt) at = this.lastDeliverAt
    if (at < depart) at = depart
    this.lastDeliverAt = at
    return at
  }

  /** Called when a scheduled packet's time comes: false if an outage began while it was in flight. */
  release (): boolean {
    if (this.params.outage) {
      this.drop('outage')
      return false
    }
    this.stats.delivered++
    return true
  }

  /** Counts a drop decided outside the model (a delay line out of room: cause `queue`). */
  countDrop (cause: DropCause): void { this.stats.dropped[cause]++ }

  private drop (cause: DropCause): number {
    this.stats.dropped[cause]++
    this.lastCause = cause
    return -1
  }
}
