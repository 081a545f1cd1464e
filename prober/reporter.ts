import type { Clock, Timer } from '../src/clock.js'
import { DEFAULT_LOSS_THRESHOLDS, DEFAULT_REPORT_INTERVAL_MS, DEFAULT_RTT_CHANGE, REPORT_CHECK_MS } from './constants.js'
import type { LinkStatus } from './prober.js'

/** One link in a report. Names follow the HTTP API: loss is a fraction from 0 to 1. */
export interface LinkReportEntry {
  peer: string
  up: boolean
  rtt_ms: number | null
  jitter_ms: number
  loss: number
  loss_short: number
  samples: number
}

/** What a relay tells the controller about its links. */
export interface LinkReport {
  relay: string
  /** Increases by one per report from this relay. */
  seq: number
  /** Why this report went out: the schedule, or a change that could not wait. */
  trigger: 'schedule' | 'state' | 'threshold'
  links: LinkReportEntry[]
}

export interface ReportPolicyOptions {
  intervalMs: number
  lossThresholds: number[]
  rttChange: number
}

export const DEFAULT_REPORT_POLICY: ReportPolicyOptions = {
  intervalMs: DEFAULT_REPORT_INTERVAL_MS,
  lossThresholds: DEFAULT_LOSS_THRESHOLDS,
  rttChange: DEFAULT_RTT_CHANGE
}

function bucket (loss: number, thresholds: number[]): number {
  let b = 0
  while (b < thresholds.length && loss >= thresholds[b]) b++
  return b
}

/**
 * Decides when a report is due: on the schedule, or at once when a link changes state, its
 * short-window loss crosses a threshold, or its RTT moves by more than `rttChange`. Pure.
 *
 * It also keeps, per link, the highest short-window loss seen by `due` since the last report
 * (`peakShort`), which the report carries as `loss_short`: a reading that crossed the controller's
 * break-even loss between two reports, inside one threshold bucket, still reaches it.
 */
export class ReportPolicy {
  readonly opts: ReportPolicyOptions
  private lastSentAt = -Infinity
  private readonly last = new Map<string, { up: boolean, bucket: number, rtt: number }>()
  private readonly peaks = new Map<string, number>()
  /** Short-window loss of each lossy up link as last sent, until the next `due` (see there). */
  private readonly held = new Map<string, number>()

  constructor (opts: Partial<ReportPolicyOptions> = {}) {
    this.opts = { ...DEFAULT_REPORT_POLICY, ...opts }
  }

  /**
   * Returns why a report is due now, or undefined. `links` may be every link, or only those whose
   * figures moved since the last call (model mode does that): a link left out counts as unchanged.
   * So a link's figure as last sent, which the next call would read again as its peak, is taken
   * as its peak here if the link is left out.
   */
  due (now: number, links: LinkStatus[]): LinkReport['trigger'] | undefined {
    if (this.held.size > 0) {
      for (const l of links) this.held.delete(l.peer)
      for (const [peer, loss] of this.held) this.peaks.set(peer, loss)
      this.held.clear()
    }
    let why: LinkReport['trigger'] | undefined
    for (const l of links) {
      if (l.state === 'up' && l.lossShort > (this.peaks.get(l.peer) ?? 0)) this.peaks.set(l.peer, l.lossShort)
      const prev = this.last.get(l.peer)
      if (prev === undefined) continue
      if (prev.up !== (l.state === 'up')) return 'state'
      if (bucket(l.lossShort, this.opts.lossThresholds) !== prev.bucket) why = 'threshold'
      else if (Number.isFinite(prev.rtt) && Number.isFinite(l.rttMs) && Math.abs(l.rttMs - prev.rtt) > this.opts.rttChange * prev.rtt) why = 'threshold'
    }
    if (why !== undefined) return why
    return this.scheduleDue(now) ? 'schedule' : undefined
  }

  /** Whether the schedule alone makes a report due now, whatever the links do. */
  scheduleDue (now: number): boolean {
    return now - this.lastSentAt >= this.opts.intervalMs
  }

  /** The highest short-window loss of an up link `peer` since the last report, or `lossShort`. */
  peakShort (peer: string, lossShort: number): number {
    const p = this.peaks.get(peer)
    return p === undefined || p < lossShort ? lossShort : p
  }

  /** Records what was sent, so the next crossing is measured from it. */
  sent (now: number, links: LinkStatus[]): void {
    this.lastSentAt = now
    this.peaks.clear()
    this.held.clear()
    for (const l of links) if (l.state === 'up' && l.lossShort > 0) this.held.set(l.peer, l.lossShort)
    for (const l of links) this.last.set(l.peer, { up: l.state === 'up', bucket: bucket(l.lossShort, this.opts.lossThresholds), rtt: l.rttMs })
  }
}

const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits

/** Builds a report; with `policy`, each up link's loss_short is its peak since the last report. */
export function buildReport (relay: string, seq: number, trigger: LinkReport['trigger'], links: LinkStatus[], policy?: ReportPolicy): LinkReport {
  return {
    relay,
    seq,
    trigger,
    links: links.map((l) => ({
      peer: l.peer,
      up: l.state === 'up',
      rtt_ms: Number.isFinite(l.rttMs) ? round(l.rttMs, 3) : null,
      jitter_ms: round(l.jitterMs, 3),
      loss: round(l.loss, 4),
      loss_short: round(policy === undefined || l.state !== 'up' ? l.lossShort : policy.peakShort(l.peer, l.lossShort), 4),
      samples: l.samples
    }))
  }
}

/** Every link estimated now: the links themselves, or a function that reads them when asked. */
export type LinkSource = LinkStatus[] | (() => LinkStatus[])

/**
 * The Reporter's check without its timer: whether a report is due, the report, and the record of
 * what was sent. Pure. The daemon's Reporter runs it every REPORT_CHECK_MS, and so does each
 * model-mode relay (sim/model/sim-relay.ts).
 */
export class ReportCheck {
  readonly policy: ReportPolicy
  private readonly relay: string
  private seq = 0

  constructor (relay: string, policy?: Partial<ReportPolicyOptions>) {
    this.relay = relay
    this.policy = new ReportPolicy(policy)
  }

  /** Whether the schedule alone makes a report due now (a caller may bring figures up to date first). */
  scheduleDue (now: number): boolean { return this.policy.scheduleDue(now) }

  /**
   * The report due at `now`, or undefined. The decision reads `decideOn`: every link, or only the
   * links whose figures moved since the last check, which gives the same answer (the policy compares
   * each link with what was last sent); the report carries `all`, read only when one goes out.
   */
  check (now: number, decideOn: LinkStatus[], all: LinkSource = decideOn): LinkReport | undefined {
    const why = this.policy.due(now, decideOn)
    if (why === undefined) return undefined
    const links = typeof all === 'function' ? all() : all
    const report = buildReport(this.relay, ++this.seq, why, links, this.policy)
    this.policy.sent(now, links)
    return report
  }
}

/**
 * Drives a ReportCheck on a timer and hands each report to `sink`. Checks often (every
 * REPORT_CHECK_MS) so a threshold crossing leaves at once rather than at the next scheduled report.
 */
export class Reporter {
  private readonly core: ReportCheck
  private readonly clock: Clock
  private readonly source: () => LinkStatus[]
  private readonly sink: (r: LinkReport) => void
  private timer: Timer | undefined

  constructor (components: { clock: Clock }, init: { relay: string, source: () => LinkStatus[], sink: (r: LinkReport) => void, policy?: Partial<ReportPolicyOptions> }) {
    this.clock = components.clock
    this.source = init.source
    this.sink = init.sink
    this.core = new ReportCheck(init.relay, init.policy)
  }

  start (): void {
    if (this.timer === undefined) this.timer = this.clock.setInterval(() => { this.check() }, REPORT_CHECK_MS)
  }

  stop (): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer)
    this.timer = undefined
  }

  check (): void {
    const report = this.core.check(this.clock.monoMs(), this.source())
    if (report !== undefined) this.sink(report)
  }
}
