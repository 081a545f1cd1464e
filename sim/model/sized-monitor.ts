import { LinkMonitor, shortestProbeGap, type LinkMonitorOptions } from '../../prober/link-monitor.js'

/**
 * A LinkMonitor whose loss windows hold as many samples as its probe rate can produce
 * (`minProbeGapMs`), instead of LossWindow's default 4,096: 256 KB of rings per monitor, 5 GB over
 * the 20,000 monitors of a 1,000-relay model. A window never holds more echoes than probes sent
 * within its span, and probes go out at most once per prober tick and per the shortest interval
 * the monitor uses, so the rings never overflow and estimates are exactly the default's.
 */
export class SizedLinkMonitor extends LinkMonitor {
  constructor (now: number, opts: Partial<LinkMonitorOptions>, tickMs: number) {
    super(now, { ...opts, minProbeGapMs: shortestProbeGap(opts, tickMs) })
  }
}

/**
 * Monitors of links that were dropped, kept for the next link to start. A neighbour refresh at
 * 1,000 relays replaces thousands of links at once; building each monitor anew allocates its
 * rings, which cost more than all the probing of the first seconds of the new links and drive the
 * collector into full collections.
 */
export class MonitorPool {
  private readonly opts: Partial<LinkMonitorOptions>
  private readonly tickMs: number
  private readonly spare: SizedLinkMonitor[] = []
  /** Monitors built, as opposed to reset and reused. */
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
    // LinkMonitor.reset makes it what a new one would be; a test holds it to that field by field.
    m.reset(now)
    return m
  }

  /** Hands back a monitor nothing refers to any more. */
  give (m: SizedLinkMonitor): void {
    this.spare.push(m)
  }
}
