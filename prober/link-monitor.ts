import {
  DEFAULT_ALERT_HOLD_MS, DEFAULT_ALERT_INTERVAL_MS, DEFAULT_ALERT_MIN_LOSS, DEFAULT_FAST_INTERVAL_MS, DEFAULT_LOSS_WINDOW_MS, DEFAULT_PROBE_INTERVAL_MS,
  DEFAULT_SHORT_LOSS_WINDOW_MS, DEFAULT_UP_AFTER, DOWN_MARGIN_MS, MIN_LATE_MARGIN_MS
} from './constants.js'
import { LossWindow } from './loss-window.js'
import { RttEstimator } from './rtt-estimator.js'

export type LinkState = 'up' | 'down'

export interface LinkMonitorOptions {
  intervalMs: number
  fastIntervalMs: number
  /** Probe interval for a while after a loss (0 turns it off). */
  alertIntervalMs: number
  /** How long the alert interval lasts after the last loss seen. */
  alertHoldMs: number
  /** Round-trip loss over the short window that a loss must bring to start or extend it. */
  alertMinLoss: number
  upAfter: number
  lossWindowMs: number
  shortLossWindowMs: number
  /**
   * The shortest gap between probes this monitor will see (ms), which sizes its loss windows'
   * rings to what they can hold. 0 leaves LossWindow's default (4,096 samples, 128 KB a window),
   * which any real probe rate fits; a simulation of thousands of links sets it (sim/model).
   */
  minProbeGapMs: number
}

export const DEFAULT_LINK_MONITOR_OPTIONS: LinkMonitorOptions = {
  intervalMs: DEFAULT_PROBE_INTERVAL_MS,
  fastIntervalMs: DEFAULT_FAST_INTERVAL_MS,
  alertIntervalMs: DEFAULT_ALERT_INTERVAL_MS,
  alertHoldMs: DEFAULT_ALERT_HOLD_MS,
  alertMinLoss: DEFAULT_ALERT_MIN_LOSS,
  upAfter: DEFAULT_UP_AFTER,
  lossWindowMs: DEFAULT_LOSS_WINDOW_MS,
  shortLossWindowMs: DEFAULT_SHORT_LOSS_WINDOW_MS,
  minProbeGapMs: 0
}

/** A point-in-time view of one link. Loss figures are fractions from 0 to 1. */
export interface LinkEstimate {
  state: LinkState
  /** Smoothed RTT (ms); NaN before the first echo. */
  rttMs: number
  jitterMs: number
  /** Forward loss (us → peer) over the long window. */
  loss: number
  /** Forward loss over the short window. */
  lossShort: number
  /** Reverse loss (peer → us) over the long window. */
  lossReverse: number
  /** RTT samples taken since start. */
  samples: number
}

/**
 * One link's measurement state: when to probe next, what each echo says, and whether the link is
 * up. Pure: every method takes `now` (monotonic ms) and nothing here touches a timer or socket.
 *
 * Probing runs at `intervalMs`. When an echo is overdue it switches to `fastIntervalMs` until an
 * echo arrives ("quick retries"): a dead link then sees many unanswered probes in little time, while
 * on a lossy link one of the quick retries almost always comes back. An echo that shows a probe or
 * echo lost since the previous one switches an up link to `alertIntervalMs` for `alertHoldMs`
 * ("alert probing"): the short loss window then holds enough samples to tell a link at 30% loss
 * from one at 10% within a second or two, where 5 probes a second leave it a coin toss (see
 * docs/probing.md). Clean links never pay for it. The link is declared down when
 * no echo has arrived for 3 intervals + the smoothed RTT + 25 ms, and up again after `upAfter`
 * echoes in a row.
 */
export class LinkMonitor {
  readonly opts: LinkMonitorOptions
  readonly rtt = new RttEstimator()
  readonly lossLong: LossWindow
  readonly lossShortWindow: LossWindow
  state: LinkState = 'down'
  /** Next probe sequence to send. */
  probeSeq = 0
  /** Probes the peer sent us (the count our echoes carry). */
  rxCount = 0
  private lastProbeAt = -Infinity
  private lastEchoAt: number
  private lastEchoSeq = -1
  private run = 0
  private peerEpoch = -1
  /** Alert probing lasts until this time. */
  private alertUntil = -Infinity

  constructor (now: number, opts: Partial<LinkMonitorOptions> = {}) {
    this.opts = { ...DEFAULT_LINK_MONITOR_OPTIONS, ...opts }
    this.lossLong = lossWindow(this.opts.lossWindowMs, this.opts.minProbeGapMs)
    this.lossShortWindow = lossWindow(this.opts.shortLossWindowMs, this.opts.minProbeGapMs)
    this.lastEchoAt = now
  }

  /**
   * Back to the state the constructor leaves, created at `now`, keeping the loss windows' rings:
   * for simulations that retire and start many links (sim/model).
   */
  reset (now: number): void {
    this.rtt.reset()
    this.lossLong.reset()
    this.lossShortWindow.reset()
    this.state = 'down'
    this.probeSeq = 0
    this.rxCount = 0
    this.lastProbeAt = -Infinity
    this.lastEchoAt = now
    this.lastEchoSeq = -1
    this.run = 0
    this.peerEpoch = -1
    this.alertUntil = -Infinity
  }

  /** Time after the last echo when the next one is overdue. */
  private lateAfter (): number {
    return this.opts.intervalMs + Math.max(4 * this.rtt.rttvar, MIN_LATE_MARGIN_MS)
  }

  /** Silence after the last echo that means the link is down. */
  downAfter (): number {
    const srtt = Number.isNaN(this.rtt.srtt) ? 0 : this.rtt.srtt
    return 3 * this.opts.intervalMs + srtt + DOWN_MARGIN_MS
  }

  /** True when a probe should go out now. */
  probeDue (now: number): boolean {
    return now - this.lastProbeAt >= this.currentInterval(now)
  }

  /** The probe interval in force: fast while an echo is overdue, or while confirming a recovery. */
  currentInterval (now: number): number {
    const silent = now - this.lastEchoAt
    if (this.state === 'up') {
      if (silent > this.lateAfter()) return this.opts.fastIntervalMs
      return now < this.alertUntil ? this.opts.alertIntervalMs : this.opts.intervalMs
    }
    return this.run > 0 && silent <= this.lateAfter() ? this.opts.fastIntervalMs : this.opts.intervalMs
  }

  /** Records that a probe went out; returns its sequence. */
  probeSent (now: number): number {
    this.lastProbeAt = now
    return this.probeSeq++
  }

  /** Counts a probe received from the peer; returns the count to echo back. */
  probeReceived (): number {
    this.rxCount = (this.rxCount + 1) >>> 0
    return this.rxCount
  }

  /**
   * Records an echo. `rttMs` is the measured round trip; `peerRx` the peer's count of our probes;
   * `peerEpoch` the peer's boot epoch. Returns true when this echo brought the link up.
   */
  echo (now: number, probeSeq: number, rttMs: number, peerRx: number, peerEpoch: number): boolean {
    if (peerEpoch !== this.peerEpoch) {
      // The peer restarted: its counters began again, so earlier samples cannot be differenced.
      this.peerEpoch = peerEpoch
      this.lossLong.reset()
      this.lossShortWindow.reset()
    }
    this.rtt.sample(rttMs)
    this.lossLong.add(now, probeSeq, peerRx)
    this.lossShortWindow.add(now, probeSeq, peerRx)
    // A gap in the answered sequence: some probe or its echo was lost since the last echo.
    if (this.state === 'up' && probeSeq > this.lastEchoSeq + 1 && this.opts.alertIntervalMs > 0 &&
      this.lossShortWindow.roundTrip(now) >= this.opts.alertMinLoss) this.alertUntil = now + this.opts.alertHoldMs
    this.run = probeSeq === this.lastEchoSeq + 1 || this.run === 0 ? this.run + 1 : 1
    this.lastEchoSeq = probeSeq
    this.lastEchoAt = now
    if (this.state === 'down' && this.run >= this.opts.upAfter) {
      this.state = 'up'
      return true
    }
    return false
  }

  /** Checks for silence; returns true when the link just went down. */
  check (now: number): boolean {
    if (this.state === 'up' && now - this.lastEchoAt > this.downAfter()) {
      this.state = 'down'
      this.run = 0
      return true
    }
    if (this.state === 'down' && this.run > 0 && now - this.lastEchoAt > this.lateAfter()) this.run = 0
    return false
  }

  /**
   * The prober's per-link step at one tick: the silence check, then a probe if one is due (recorded
   * as sent: its sequence is `probeSeq - 1`). Returns TICK_WENT_DOWN and TICK_PROBE bits. The
   * daemon's Prober and the model's probe engine (sim/model/probe-engine.ts) both run exactly this.
   */
  tick (now: number): number {
    let r = 0
    if (this.check(now)) r |= TICK_WENT_DOWN
    if (this.probeDue(now)) {
      this.probeSent(now)
      r |= TICK_PROBE
    }
    return r
  }

  /**
   * A time no later than the first tick at which `tick` would act, assuming no echo arrives first
   * (call it again after every echo). Acting at every tick from then on is what the prober does,
   * so a caller with thousands of links (sim/model) may skip the ticks before it. Before one full
   * interval of silence the probe interval in force cannot shorten (an echo is overdue only after
   * the interval plus a margin), so the next probe time is exact; after that, while the interval
   * may still flip to quick retries, or a recovery's quick probing may lapse, this polls tick by
   * tick. Alert probing ending only lengthens the interval, which at worst wakes the caller early.
   * `interval` is currentInterval(now), for a caller that has it already.
   */
  nextWake (now: number, tickMs: number, interval = this.currentInterval(now)): number {
    const { intervalMs, fastIntervalMs } = this.opts
    const up = this.state === 'up'
    const lastEchoAt = this.lastEchoAt
    let wake = this.lastProbeAt + interval
    // check() declares an up link down after downAfter() of silence; the first tick past it acts.
    if (up) wake = Math.min(wake, lastEchoAt + this.downAfter())
    if (now - lastEchoAt < intervalMs) {
      wake = Math.min(wake, lastEchoAt + intervalMs)
    } else if (intervalMs !== fastIntervalMs && (up ? interval !== fastIntervalMs : interval === fastIntervalMs)) {
      wake = Math.min(wake, now + tickMs)
    }
    return wake
  }

  estimate (now: number): LinkEstimate {
    return this.estimateInto(now, { state: 'down', rttMs: NaN, jitterMs: 0, loss: 1, lossShort: 1, lossReverse: 1, samples: 0 })
  }

  /**
   * estimate(now) written into `out`, which is returned: for callers that keep one object per link
   * rather than allocate one per reading (sim/model). With `long` false the long-window figures
   * (loss, lossReverse) are left as they are unless the link is down, when they are 1 whatever
   * the windows hold: the report decision (prober/reporter.ts) reads only state, RTT and lossShort.
   */
  estimateInto <T extends LinkEstimate>(now: number, out: T, long = true): T {
    const s = this.state
    // A down link's figures do not depend on its windows (reportedLoss), so they are not read: at
    // thousands of links (sim/model) each read of a ring is a cache miss.
    const up = s === 'up'
    out.state = s
    out.rttMs = this.rtt.srtt
    out.jitterMs = this.rtt.jitter
    out.samples = this.rtt.samples
    out.lossShort = reportedLoss(s, up ? this.lossShortWindow.forward(now) : NaN)
    if (long || !up) {
      out.loss = reportedLoss(s, up ? this.lossLong.forward(now) : NaN)
      out.lossReverse = reportedLoss(s, up ? this.lossLong.reverse(now) : NaN)
    }
    return out
  }
}

/** Bits of LinkMonitor.tick's result: the link just went down; a probe is to go out. */
export const TICK_WENT_DOWN = 1
export const TICK_PROBE = 2

/**
 * A loss figure as a link reports it: 1 while the link is down, whatever its windows hold (a down
 * link reports loss 1), and 0 while a window has too few echoes to tell (NaN).
 */
export function reportedLoss (state: LinkState, windowLoss: number): number {
  return state === 'down' ? 1 : Number.isNaN(windowLoss) ? 0 : windowLoss
}

/**
 * The shortest gap between two probes of a monitor with these options whose tick runs every
 * `tickMs`: at most one probe a tick, and none sooner than the shortest interval it uses (regular,
 * quick retries, alert probing). A caller may size `minProbeGapMs` with it (sim/model).
 */
export function shortestProbeGap (opts: Partial<LinkMonitorOptions>, tickMs: number): number {
  const o = { ...DEFAULT_LINK_MONITOR_OPTIONS, ...opts }
  const alert = o.alertIntervalMs > 0 ? o.alertIntervalMs : Infinity
  return Math.max(tickMs, Math.min(o.intervalMs, o.fastIntervalMs, alert))
}

/** Room in a sized ring beyond one sample per probe gap: echoes bunched by jitter, the base sample. */
const SPARE_SAMPLES = 16

function lossWindow (windowMs: number, minProbeGapMs: number): LossWindow {
  return minProbeGapMs > 0 ? new LossWindow(windowMs, Math.ceil(windowMs / minProbeGapMs) + SPARE_SAMPLES) : new LossWindow(windowMs)
}
