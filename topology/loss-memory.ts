import type { ControlLinkReport } from '../src/control/messages.js'
import type { LinkMetrics } from './cost.js'

/**
 * How long a loss the controller has seen keeps weighing on a link: the held figure decays as
 * exp(−t/τ). With τ = 10 s, a link seen at 35% still counts as 21% five seconds later, by which
 * time its 10 s window has caught up if the loss goes on.
 */
export const LOSS_MEMORY_TAU_MS = 10_000

/** One reported link, as the control protocol carries it (src/control/messages.ts). */
export type ReportedLink = Pick<ControlLinkReport['links'][number], 'peer' | 'up' | 'rtt_ms' | 'jitter_ms' | 'loss' | 'loss_short'>

/**
 * Turns link reports into the metrics the graph costs, for the controller (controller.ts) and the
 * model's controller (sim/model/report-intake.ts) alike.
 *
 * Loss is the worst of three figures: the 10 s window, the 1 s window, and the highest loss this
 * link has shown lately, decayed (LOSS_MEMORY_TAU_MS). The 1 s window makes a link turning bad lose
 * its routes within a second or two, but a few dozen samples scatter around the true rate, and each
 * dip below the break-even loss would hand the route back to the lossy link until the next rise.
 * The memory rises at once and falls slowly, so one high reading is enough and the route stays
 * away; recovery is then paced by the long window and the decay, as it should be (docs/routing.md).
 *
 * Only up links feed the memory: a down link's loss of 1 says nothing about how lossy it will be
 * when it comes back.
 */
export class LossMemory {
  private readonly held = new Map<string, { loss: number, at: number }>()

  /** The metrics for `from`→`l.peer` reported at `now` (ms, any monotonic clock). */
  metrics (from: string, l: ReportedLink, now: number): LinkMetrics {
    return this.apply(from, l, now, true)
  }

  /** What metrics() would give, leaving the memory as it is. */
  peek (from: string, l: ReportedLink, now: number): LinkMetrics {
    return this.apply(from, l, now, false)
  }

  private apply (from: string, l: ReportedLink, now: number, remember: boolean): LinkMetrics {
    const m = reportedMetrics(l)
    if (!l.up) return m
    const reported = m.loss
    const key = `${from}>${l.peer}`
    const h = this.held.get(key)
    const decayed = h === undefined ? 0 : h.loss * Math.exp(-(now - h.at) / LOSS_MEMORY_TAU_MS)
    if (reported >= decayed) {
      if (!remember) return m
      if (reported > 0) this.held.set(key, { loss: reported, at: now })
      else this.held.delete(key)
      return m
    }
    m.loss = decayed
    return m
  }
}

/** A reported link's metrics without the memory: loss is the worse of the two windows. */
export function reportedMetrics (l: ReportedLink): LinkMetrics {
  return { rttMs: l.rtt_ms ?? Infinity, jitterMs: l.jitter_ms, loss: Math.max(l.loss, l.loss_short), up: l.up }
}
