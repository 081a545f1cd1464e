/**
 * Child process of probe.ts: one link at heavy random loss in both directions, watched for false
 * "down" reports for a long time. Its own process, so the parent's other cases cannot stall its
 * event loop and cause a down that the link itself did not.
 *
 *   node dist/test/bench/probe-soak.js DURATION_MS LOSS DELAY_MS JITTER_MS
 *
 * Sends one message to the parent over IPC: { type: 'result', ... }.
 */
import { randomBytes } from 'node:crypto'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { LinkPair } from './probe-pair.js'
import { percentile } from './probe-util.js'

const WARM_MS = 3000
const PROGRESS_MS = 60_000
/** Watchdog period, and the event-loop stall worth recording. */
const WATCH_MS = 10
const STALL_MS = 100

export interface SoakResult {
  type: 'result'
  duration_s: number
  loss: number
  delay_ms: number
  jitter_ms: number
  /** linkdown events after the link first came up, on a (peer b) and on b (peer a). */
  downs_a: number
  downs_b: number
  /** When the link first came up on a (ms after start). */
  first_up_ms: number
  /** Longest time between two echoes reaching a / b, per the emulator's decisions (ms). */
  max_echo_gap_to_a_ms: number
  max_echo_gap_to_b_ms: number
  /** a's down threshold at the end: 3 intervals + srtt + margin (ms). */
  down_after_ms: number
  measured_loss_a_fwd: number
  srtt_ms: number
  /** a's probes per second over the whole run (regular plus quick retries). */
  a_probes_per_s: number
  event_loop_delay_max_ms: number
  /** Event-loop stalls of this process over STALL_MS: count, and the longest (ms). */
  stalls: number
  stall_max_ms: number
  /**
   * Every linkdown: when (s after start), which side reported it, and the longest stall of this
   * process that ended within that link's down threshold before it. The emulator runs in this
   * process too, so during a stall no probe or echo moves and the silence is the host's doing.
   */
  downs: Array<{ t_s: number, side: 'a' | 'b', stall_ms: number }>
  /** Downs with no stall over STALL_MS in their window: the ones the link itself caused. */
  downs_without_stall: number
  /** How late the emulator released packets past their deadlines (p99, ms). */
  emu_late_p99_ms: number
}

function log (msg: string): void {
  process.stderr.write(`bench soak: ${msg}\n`)
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

async function main (): Promise<void> {
  const [durationMs, loss, delayMs, jitterMs] = process.argv.slice(2, 6).map(Number)
  const eld = monitorEventLoopDelay({ resolution: 5 })
  eld.enable()
  const pair = await LinkPair.start({ impair: { loss, delayMs, jitterMs }, seed: 0x50a1, meshKey: randomBytes(32) })
  const t0 = performance.now()
  let firstUp = NaN
  let downsA = 0; let downsB = 0
  pair.a.prober.events.on('linkup', () => { if (Number.isNaN(firstUp)) firstUp = performance.now() - t0 })
  const downs: Array<{ at: number, side: 'a' | 'b', window: number }> = []
  const onDown = (side: 'a' | 'b', window: number): void => {
    downs.push({ at: performance.now(), side, window })
    log(`${side} reported ${side === 'a' ? 'b' : 'a'} down at ${Math.round((performance.now() - t0) / 1000)} s`)
  }
  pair.a.prober.events.on('linkdown', () => { downsA++; onDown('a', pair.a.prober.monitor('b')?.downAfter() ?? 1000) })
  pair.b.prober.events.on('linkdown', () => { downsB++; onDown('b', pair.b.prober.monitor('a')?.downAfter() ?? 1000) })
  const stalls: Array<{ end: number, ms: number }> = []
  let lastWake = performance.now()
  const watchdog = setInterval(() => {
    const now = performance.now()
    if (now - lastWake - WATCH_MS > STALL_MS) stalls.push({ end: now, ms: now - lastWake - WATCH_MS })
    lastWake = now
  }, WATCH_MS)
  const stopOnDisconnect = (): void => { void pair.stop().finally(() => process.exit(1)) }
  process.on('disconnect', stopOnDisconnect)
  try {
    await sleep(WARM_MS)
    pair.resetGaps()
    const end = t0 + durationMs
    while (performance.now() < end) {
      await sleep(Math.min(PROGRESS_MS, end - performance.now()))
      const m = pair.a.prober.monitor('b')
      log(`${Math.round((performance.now() - t0) / 1000)} s: downs a=${downsA} b=${downsB}, loss a→b ${m?.lossLong.forward(performance.now()).toFixed(3)}, max echo gap ${pair.maxEchoGapToA.toFixed(0)} ms`)
    }
    const now = performance.now()
    const m = pair.a.prober.monitor('b')
    if (m === undefined) throw new Error('relay a has no monitor for b')
    // The watchdog may wake just after the tick that declared the link down: allow it a moment.
    const stallBefore = (d: { at: number, window: number }): number =>
      Math.max(0, ...stalls.filter((x) => x.end > d.at - d.window && x.end < d.at + 50).map((x) => x.ms))
    const attributed = downs.map((d) => ({ t_s: Math.round((d.at - t0) / 100) / 10, side: d.side, stall_ms: Math.round(stallBefore(d)) }))
    const result: SoakResult = {
      type: 'result',
      duration_s: Math.round((now - t0) / 1000),
      loss,
      delay_ms: delayMs,
      jitter_ms: jitterMs,
      downs_a: downsA,
      downs_b: downsB,
      first_up_ms: Math.round(firstUp),
      max_echo_gap_to_a_ms: Math.round(pair.maxEchoGapToA),
      max_echo_gap_to_b_ms: Math.round(pair.maxEchoGapToB),
      down_after_ms: Math.round(m.downAfter()),
      measured_loss_a_fwd: Math.round(m.lossLong.forward(now) * 1e4) / 1e4,
      srtt_ms: Math.round(m.rtt.srtt * 100) / 100,
      a_probes_per_s: Math.round(pair.aProbeDropped.length / ((now - t0) / 1000) * 100) / 100,
      event_loop_delay_max_ms: Math.round(eld.max / 1e4) / 100,
      stalls: stalls.length,
      stall_max_ms: Math.round(Math.max(0, ...stalls.map((x) => x.ms))),
      downs: attributed,
      downs_without_stall: attributed.filter((d) => d.stall_ms === 0).length,
      emu_late_p99_ms: Math.round(percentile(pair.lateMs, 99) * 1000) / 1000
    }
    process.send?.(result)
  } finally {
    process.off('disconnect', stopOnDisconnect)
    clearInterval(watchdog)
    await pair.stop()
    eld.disable()
  }
}

function done (): void {
  if (process.connected) process.disconnect()
}

main().then(done, (err: Error) => {
  log(`failed: ${err.stack ?? err.message}`)
  process.exitCode = 1
  done()
})
