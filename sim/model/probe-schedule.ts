import type { LinkMonitor } from '../../prober/link-monitor.js'

/**
 * When the real prober's tick could next do something for this link, so the simulation can skip
 * the ticks in between. The prober (prober/prober.ts) runs, every TICK_MS for every link,
 * `check(now)` then `probeDue(now)`; at 1,000 relays that is millions of calls per simulated
 * second, nearly all of which do nothing. This returns a time no later than the first tick at
 * which either call would act, assuming no echo arrives first (the caller recomputes on every
 * echo). Acting at every tick from that time on is then exactly what the prober does.
 *
 * It reads the monitor only through its public methods. The one thing it assumes of the monitor
 * is its documented rule for quick retries: without an echo, the probe interval in force can shorten
 * only when an echo becomes overdue, which cannot happen before one full interval of silence (an
 * echo is overdue after the interval plus a margin); alert probing ending only lengthens it, which
 * at worst wakes the caller early. Before that point the next probe time is exact; after it, while
 * the interval might still flip, this polls tick by tick.
 *
 * `lastProbeAt` and `lastEchoAt` are the times of the caller's last probeSent and echo calls (the
 * monitor's creation time before the first echo); `interval` is m.currentInterval(now), for a
 * caller that has it already.
 */
export function nextWake (m: LinkMonitor, lastProbeAt: number, lastEchoAt: number, now: number, tickMs: number, interval = m.currentInterval(now)): number {
  const { intervalMs, fastIntervalMs } = m.opts
  const up = m.state === 'up'
  let wake = lastProbeAt + interval
  // check() declares an up link down after downAfter() of silence; the first tick past it acts.
  if (up) wake = Math.min(wake, lastEchoAt + m.downAfter())
  if (now - lastEchoAt < intervalMs) {
    wake = Math.min(wake, lastEchoAt + intervalMs)
  } else if (intervalMs !== fastIntervalMs && (up ? interval !== fastIntervalMs : interval === fastIntervalMs)) {
    // In the zone where the echo may turn overdue (up: quick retries start) or a recovery's
    // quick probing may lapse (down: check() also resets the run of echoes then).
    wake = Math.min(wake, now + tickMs)
  }
  return wake
}
