import { OFF_CLASS, OFF_DEADLINE, OFF_TYPE, PacketType, TrafficClass } from '../../src/wire/constants.js'
import { classOf, classPolicies, type ClassPolicy } from './class-policy.js'
import { DEFAULT_ACK_DELAY_MS, GapTracker, type Feedback, type GapTrackerOptions } from './gap-tracker.js'
import { RetransmitBuffer, type Copy, type RetransmitOptions } from './retransmit-buffer.js'

/** What recovery needs of the relay around it. */
export interface RecoveryHooks {
  /** The link's smoothed RTT to `peer` in ms, or undefined before the prober has one. */
  rttOf: (peer: number) => number | undefined
  /** Sends a FEEDBACK to `peer`, over the link's session. */
  sendFeedback: (peer: number, fb: Feedback) => void
  /** Sends a copy on the link to `peer` (tags it under a new link sequence); returns that sequence, or undefined if it could not go. */
  resend: (peer: number, buf: Buffer) => number | undefined
  /** A reliable packet was given up on the link to `peer`. */
  failed: (peer: number, buf: Buffer) => void
  /** `count` packets asked for on the link to `peer` could no longer arrive within their budget. */
  unrecoverable: (peer: number, count: number) => void
  /** There is work for `tick`: call it within a few ms, and again while it returns true. */
  wake: () => void
}

export interface RecoveryInit {
  /** Added-latency budgets per class (ms): audio 100, video 250 by default. */
  budgets?: { audioMs?: number, videoMs?: number }
  gaps?: GapTrackerOptions
  retransmit?: RetransmitOptions
}

/** Before the prober measured a link, a copy's timeout and re-asks assume this RTT (ms). */
const UNKNOWN_RTT_MS = 100

/** Per-link counters, summed over links for /metrics and the sim reports. */
export class RecoveryCounters {
  feedbackSent = 0
  feedbackReceived = 0
  /** Sequences asked for by this relay (NACKs sent), counting repeats. */
  nacksSent = 0
  /** Sequences the neighbours asked this relay for. */
  nacksReceived = 0
  retransmissions = 0
  retransmittedBytes = 0
  /** Gaps filled after all at this relay. */
  recovered = 0
  /** Asked for, but a copy could no longer arrive in its class's budget. */
  unrecoverable = 0
  /** Held back by the 30% cap. */
  capped = 0
  /** Reliable packets given up after the bound. */
  failed = 0
}

interface LinkState {
  gaps: GapTracker
  sent: RetransmitBuffer<Buffer>
}

/**
 * Per-hop recovery for every link of one relay (docs/recovery.md): the data plane calls
 * `received` for each datagram that passed a link's checks and `sent` for each DATA it put on a
 * link; the relay calls `tick` every few ms. Pure of sockets and timers: what goes out goes
 * through the hooks, and every call takes `now`.
 */
export class RecoveryPlane {
  readonly counters = new RecoveryCounters()
  private readonly links = new Map<number, LinkState>()
  private readonly policies: ReadonlyMap<number, ClassPolicy>
  private readonly hooks: RecoveryHooks
  private readonly init: RecoveryInit
  private readonly ackDelayMs: number
  private readonly sendCopy: (c: Copy<Buffer>) => void
  private readonly failCopy: (b: Buffer) => void
  /** The link whose feedback is being applied (sendCopy and failCopy act on it). */
  private peer = 0
  private now = 0

  constructor (hooks: RecoveryHooks, init: RecoveryInit = {}) {
    this.hooks = hooks
    this.init = init
    this.policies = classPolicies(init.budgets)
    this.ackDelayMs = init.gaps?.ackDelayMs ?? DEFAULT_ACK_DELAY_MS
    this.sendCopy = (c) => { this.copy(c) }
    this.failCopy = (b) => { this.counters.failed++; this.hooks.failed(this.peer, b) }
  }

  /** The budget a packet of traffic class `tc` starts with at its source (0: none). */
  budgetFor (tc: number): number {
    return (this.policies.get(classOf(tc)) as ClassPolicy).budgetMs
  }

  private link (peer: number): LinkState {
    let l = this.links.get(peer)
    if (l === undefined) {
      l = { gaps: new GapTracker(this.init.gaps), sent: new RetransmitBuffer<Buffer>(this.init.retransmit) }
      this.links.set(peer, l)
    }
    return l
  }

  /** A datagram of traffic class `tc` with link sequence `seq` passed the link from `peer`'s checks. */
  received (peer: number, seq: number, type: number, tc: number, now: number): void {
    const policy = type === PacketType.DATA ? this.policies.get(classOf(tc)) as ClassPolicy : undefined
    const gaps = this.link(peer).gaps
    if (gaps.receive(seq, now, policy?.mode === 'reliable', policy !== undefined && policy.mode !== 'none')) this.counters.recovered++
    if (gaps.pending(now)) this.hooks.wake()
  }

  /** `buf`, a DATA datagram, went on the link to `peer` under `seq` (its deadline field as it left). */
  sent (peer: number, seq: number, buf: Buffer, now: number): void {
    const l = this.link(peer)
    if (buf[OFF_TYPE] !== PacketType.DATA) { l.sent.sent(seq, now, undefined, 0, false); return }
    const policy = this.policies.get(classOf(buf[OFF_CLASS])) as ClassPolicy
    if (policy.mode === 'none') { l.sent.sent(seq, now, undefined, 0, false); return }
    const budget = (buf[OFF_DEADLINE] << 8) | buf[OFF_DEADLINE + 1]
    l.sent.sent(seq, now, buf, budget, policy.mode === 'reliable')
    if (policy.mode === 'reliable') this.hooks.wake()
  }

  /** A FEEDBACK from `peer` about what it received from us. */
  feedback (peer: number, fb: Feedback, now: number): void {
    const l = this.links.get(peer)
    this.counters.feedbackReceived++
    this.counters.nacksReceived += fb.missing.length
    if (l === undefined) return
    this.peer = peer
    this.now = now
    const before = l.sent.stats.unrecoverable
    const capped = l.sent.stats.capped
    l.sent.feedback(fb, now, this.hooks.rttOf(peer) ?? UNKNOWN_RTT_MS, this.sendCopy, this.failCopy)
    const late = l.sent.stats.unrecoverable - before
    if (late > 0) {
      this.counters.unrecoverable += late
      this.hooks.unrecoverable(peer, late)
    }
    this.counters.capped += l.sent.stats.capped - capped
  }

  private copy (c: Copy<Buffer>): void {
    const budget = Math.max(0, Math.min(0xffff, Math.floor(c.budgetMs)))
    for (let k = 0; k < c.count; k++) {
      // Each copy its own buffer: the send path writes the new link sequence and tag into it.
      const buf = Buffer.from(c.packet)
      buf[OFF_DEADLINE] = budget >>> 8
      buf[OFF_DEADLINE + 1] = budget & 0xff
      const seq = this.hooks.resend(this.peer, buf)
      if (seq === undefined) return
      this.counters.retransmissions++
      this.counters.retransmittedBytes += buf.length
      // A last chance (two copies) is not kept: there is no time for another. Either way each
      // copy counts toward the link's cap.
      const sent = this.link(this.peer).sent
      if (c.count === 1) sent.again(seq, this.now, { ...c, packet: buf })
      else sent.sent(seq, this.now, undefined, 0, false)
    }
  }

  /**
   * Sends the feedback that is due and the reliable copies whose acknowledgement is overdue.
   * Returns whether work remains (gaps still open, reliable packets unacknowledged).
   */
  tick (now: number): boolean {
    let pending = false
    for (const [peer, l] of this.links) {
      const rtt = this.hooks.rttOf(peer) ?? UNKNOWN_RTT_MS
      const fb = l.gaps.poll(now, rtt)
      if (fb !== undefined) {
        this.counters.feedbackSent++
        this.counters.nacksSent += fb.missing.length
        this.hooks.sendFeedback(peer, fb)
      }
      if (l.sent.unacknowledged > 0) {
        this.peer = peer
        this.now = now
        l.sent.expire(now, rtt, this.ackDelayMs, this.sendCopy, this.failCopy)
      }
      pending ||= l.gaps.pending(now) || l.sent.unacknowledged > 0
    }
    return pending
  }

  /** The link session with `peer` was replaced: sequences start over. */
  reset (peer: number): void {
    const l = this.links.get(peer)
    if (l === undefined) return
    l.gaps.reset()
    for (const b of l.sent.reset()) { this.counters.failed++; this.hooks.failed(peer, b) }
  }
}
