import { LinkMonitor, type LinkMonitorOptions } from '../../prober/link-monitor.js'
import { LossWindow } from '../../prober/loss-window.js'

/** Room in a loss window beyond one sample per probe slot: echoes bunched by jitter, the base sample. */
const SPARE_SAMPLES = 16

/**
 * A LinkMonitor whose loss windows hold as many samples as its probe rate can produce, instead of
 * LossWindow's default 4,096. The default costs 256 KB of rings per monitor; a 1,000-relay model
 * has some 20,000 monitors, which would be 5 GB. A window never holds more echoes than probes
 * sent within its span, and probes go out at most once per min(interval, quick-retry interval)
 * and per prober tick, so the rings never overflow and estimates are exactly the default's.
 *
 * The windows are swapped right after construction, before any sample: LinkMonitor has no option
 * for their capacity. If it gains one, pass it and drop this class.
 */
export class SizedLinkMonitor extends LinkMonitor {
  constructor (now: number, opts: Partial<LinkMonitorOptions>, tickMs: number) {
    super(now, opts)
    const minGap = Math.max(tickMs, Math.min(this.opts.intervalMs, this.opts.fastIntervalMs))
    const capacity = (windowMs: number): number => Math.ceil(windowMs / minGap) + SPARE_SAMPLES
    const self = this as { lossLong: LossWindow, lossShortWindow: LossWindow }
    self.lossLong = new LossWindow(this.opts.lossWindowMs, capacity(this.opts.lossWindowMs))
    self.lossShortWindow = new LossWindow(this.opts.shortLossWindowMs, capacity(this.opts.shortLossWindowMs))
  }

  /**
   * Makes this monitor what `new SizedLinkMonitor(now, …)` with the same options would be, keeping
   * its rings (LinkMonitor.reset). A test holds it to that field by field.
   */
  renew (now: number): void {
    this.reset(now)
  }
}

/**
 * Monitors of links that were dropped, kept for the next link to start. A neighbour refresh at
 * 1,000 relays replaces thousands of links at once; building each monitor anew allocates the
 * default rings LinkMonitor's constructor makes (256 KB, thrown away at once) and the sized ones,
 * which cost more than all the probing of the first seconds of the new links and drive the
 * collector into full collections.
 */
export class MonitorPool {
  private readonly opts: Partial<LinkMonitorOptions>
  private readonly tickMs: number
  private readonly spare: SizedLinkMonitor[] = []
  /** Monitors built, as opposed to renewed. */
  built = 0

  constructor (opts: Partial<LinkMonitorOptions>, tickMs: number) {
    this.opts = opts
    this.tickMs = tickMs
  }

  /** A monitor as new, created at `now`. */
  take (now: number): SizedLinkMonitor {
    const m = this.spare.pop()
    if (m === undefined) {
      this.built++
      return new SizedLinkMonitor(now, this.opts, this.tickMs)
    }
    m.renew(now)
    return m
  }

  /** Hands back a monitor nothing refers to any more. */
  give (m: SizedLinkMonitor): void {
    this.spare.push(m)
  }
}
