/**
 * Probing benchmark: how well the prober measures impaired links, how fast it sees a dead one, and
 * what probing costs. Prints one JSON line on stdout; progress goes to stderr.
 *
 *   1. Accuracy. Twelve links (loss 0/5/20/30 % × one-way delay 10/50/150 ms, ±5 ms jitter, both
 *      directions impaired) run at the default probe rate: 3 s of warm-up, then a 10 s window. a's
 *      forward loss estimate is checked against the loss the emulator applied to the very probes
 *      the estimate covers, and against the configured rate (3 binomial standard deviations); its
 *      smoothed RTT against twice the one-way delay.
 *   2. Down and up detection. 20 links (20 ms one-way, no loss; 5 at a time) are blackholed, staggered,
 *      then restored: time from outage to linkdown on a, and from recovery to linkup.
 *   3. No false downs. One link at 30 % loss both ways for 10 minutes, in a child process
 *      (probe-soak.ts) that runs alongside everything else.
 *   4. Probe traffic per link and direction, IPv4/UDP headers included (no-loss 10 ms case).
 *   5. CPU. A real relay process with 100 neighbours against the same process with none
 *      (probe-cpu.ts): the baseline measured in the same run.
 *
 * Environment:
 *   RELAYMESH_BENCH_QUICK=1        shorten the false-down soak to 60 s (development)
 *   RELAYMESH_BENCH_BATCH=N        accuracy cases run N at a time (default 4)
 *   RELAYMESH_BENCH_DOWN_BATCH=N   blackholed links run N at a time (default 5)
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { DEFAULT_FAST_INTERVAL_MS, DEFAULT_PROBE_INTERVAL_MS, DOWN_MARGIN_MS, TICK_MS } from '../../prober/constants.js'
import { LinkPair } from './probe-pair.js'
import { makeKey, measureHubCpu, measureTimerCpu } from './probe-cpu.js'
import type { SoakResult } from './probe-soak.js'
import { forkChild, killChildren, log, nextMessage, percentile, round, sleep } from './probe-util.js'

const SOAK = fileURLToPath(new URL('./probe-soak.js', import.meta.url))
const QUICK = process.env.RELAYMESH_BENCH_QUICK === '1'
const SOAK_MS = QUICK ? 60_000 : 600_000
const SOAK_LOSS = 0.3
const SOAK_DELAY_MS = 50
const BATCH = Math.max(1, Number(process.env.RELAYMESH_BENCH_BATCH ?? 4))

const LOSSES = [0, 0.05, 0.2, 0.3]
const DELAYS_MS = [10, 50, 150]
const JITTER_MS = 5
const WARM_MS = 3000
const WINDOW_MS = 10_000
const SRTT_SAMPLE_MS = 250
const LOSS_TOLERANCE_PP = 2

const DOWN_TRIALS = 20
const DOWN_DELAY_MS = 20
const DOWN_SPACING_MS = 150
const DOWN_BATCH = Math.max(1, Number(process.env.RELAYMESH_BENCH_DOWN_BATCH ?? 5))
const OUTAGE_HOLD_MS = 1000
const UP_TARGET_MS = 2000
const DETECT_TIMEOUT_MS = 5000

const CPU_WARM_MS = 5000
const CPU_WINDOW_MS = 20_000
const CPU_NEIGHBOURS = 100
const CPU_TARGET_PCT = 5
const BPS_TARGET = 16_000

interface CaseResult {
  loss: number
  delay_ms: number
  jitter_ms: number
  /** Probes the estimate covers, and the loss the emulator applied to exactly those. */
  n: number
  applied_loss: number
  measured_loss: number
  loss_err_pp: number
  /** Three binomial standard deviations of the configured rate over n probes, in pp. */
  sd3_pp: number
  within_3sd: boolean
  rtt_target_ms: number
  srtt_ms: number
  rtt_err_ms: number
  rtt_tol_ms: number
  rtt_ok: boolean
  /** srtt sampled every 250 ms over the window: mean, worst deviation, share within tolerance. */
  srtt_mean_ms: number
  srtt_worst_err_ms: number
  srtt_in_tol_frac: number
  /** How late the emulator released packets past their deadline, all four lines, in the window. */
  emu_late_p50_ms: number
  emu_late_p99_ms: number
  emu_late_max_ms: number
  /** The worst event-loop stall of the benchmark process while this case's batch ran. */
  batch_loop_stall_max_ms: number
  up_at_read: boolean
  first_up_ms: number
  downs: number
  a_probes_per_s: number
  a_to_b_bps: number
  b_to_a_bps: number
}

/** Runs one batch of accuracy cases side by side. */
async function runCases (cases: Array<{ loss: number, delayMs: number, seed: number }>, meshKey: Buffer): Promise<CaseResult[]> {
  const pairs: LinkPair[] = []
  try {
    for (const c of cases) pairs.push(await LinkPair.start({ impair: { loss: c.loss, delayMs: c.delayMs, jitterMs: JITTER_MS }, seed: c.seed, meshKey }))
    const t0 = performance.now()
    const firstUp = pairs.map(() => NaN)
    const downs = pairs.map(() => 0)
    pairs.forEach((p, i) => {
      p.a.prober.events.on('linkup', () => { if (Number.isNaN(firstUp[i])) firstUp[i] = performance.now() - t0 })
      p.a.prober.events.on('linkdown', () => { downs[i]++ })
    })
    await sleep(WARM_MS)
    const before = pairs.map((p) => ({ ab: { ...p.aToB }, ba: { ...p.bToA }, probes: p.aProbeDropped.length, late: p.lateMs.length }))
    const eld = monitorEventLoopDelay({ resolution: 1 })
    eld.enable()
    const srtts: number[][] = pairs.map(() => [])
    const sampler = setInterval(() => {
      pairs.forEach((p, i) => { srtts[i].push(p.a.prober.monitor('b')?.rtt.srtt ?? NaN) })
    }, SRTT_SAMPLE_MS)
    const w0 = performance.now()
    await sleep(WINDOW_MS)
    clearInterval(sampler)
    eld.disable()
    const stallMs = round(eld.max / 1e6)
    const now = performance.now()
    const seconds = (now - w0) / 1000
    return pairs.map((p, i) => {
      const c = cases[i]
      const m = p.a.prober.monitor('b')
      if (m === undefined) throw new Error('relay a has no monitor for b')
      const measured = m.lossLong.forward(now)
      const [from, to] = m.lossLong.range(now)
      const { n, drops } = p.applied(from, to)
      const applied = n > 0 ? drops / n : NaN
      const sd3 = 3 * Math.sqrt((c.loss * (1 - c.loss)) / (to - from))
      const target = 2 * c.delayMs
      const tol = Math.max(2, 0.05 * target)
      const srtt = m.rtt.srtt
      const valid = srtts[i].filter((x) => !Number.isNaN(x))
      const mean = valid.reduce((s, x) => s + x, 0) / valid.length
      const late = p.lateMs.slice(before[i].late)
      return {
        loss: c.loss,
        delay_ms: c.delayMs,
        jitter_ms: JITTER_MS,
        n,
        applied_loss: round(applied, 4),
        measured_loss: round(measured, 4),
        loss_err_pp: round(Math.abs(measured - applied) * 100, 3),
        sd3_pp: round(sd3 * 100, 2),
        // A hair of slack so that a measured 0 at a configured 0 counts as within.
        within_3sd: Math.abs(measured - c.loss) <= sd3 + 1e-9,
        rtt_target_ms: target,
        srtt_ms: round(srtt, 3),
        rtt_err_ms: round(Math.abs(srtt - target), 3),
        rtt_tol_ms: tol,
        rtt_ok: Math.abs(srtt - target) <= tol,
        srtt_mean_ms: round(mean, 3),
        srtt_worst_err_ms: round(Math.max(...valid.map((x) => Math.abs(x - target))), 3),
        srtt_in_tol_frac: round(valid.filter((x) => Math.abs(x - target) <= tol).length / valid.length, 3),
        emu_late_p50_ms: round(percentile(late, 50), 3),
        emu_late_p99_ms: round(percentile(late, 99), 3),
        emu_late_max_ms: round(Math.max(...late), 3),
        batch_loop_stall_max_ms: stallMs,
        up_at_read: m.state === 'up',
        first_up_ms: Math.round(firstUp[i]),
        downs: downs[i],
        a_probes_per_s: round((p.aProbeDropped.length - before[i].probes) / seconds, 2),
        a_to_b_bps: Math.round(((p.aToB.bytes - before[i].ab.bytes) * 8) / seconds),
        b_to_a_bps: Math.round(((p.bToA.bytes - before[i].ba.bytes) * 8) / seconds)
      }
    })
  } finally {
    await Promise.all(pairs.map(async (p) => { await p.stop() }))
  }
}

interface DownResult {
  trials: number
  down_ms: number[]
  up_ms: number[]
  missed_down: number
  missed_up: number
  /** a's srtt of each link just before its outage (ms); the down threshold grows with it. */
  srtt_ms: number[]
  emu_late_p99_ms: number
  loop_stall_max_ms: number
}

/** Blackholes each of DOWN_TRIALS links (DOWN_BATCH at a time, staggered), then restores it. */
async function runDownTrials (meshKey: Buffer): Promise<DownResult> {
  const res: Array<{ down: number, up: number, srtt: number }> = []
  const late: number[] = []
  let stallMs = 0
  for (let first = 0; first < DOWN_TRIALS; first += DOWN_BATCH) {
    const pairs: LinkPair[] = []
    try {
      for (let i = first; i < Math.min(DOWN_TRIALS, first + DOWN_BATCH); i++) {
        pairs.push(await LinkPair.start({ impair: { delayMs: DOWN_DELAY_MS }, seed: 50_000 + 8 * i, meshKey }))
      }
      const deadline = performance.now() + 10_000
      while (pairs.some((p) => !p.a.prober.isUp(p.b.number)) && performance.now() < deadline) await sleep(50)
      await sleep(WARM_MS)
      const eld = monitorEventLoopDelay({ resolution: 1 })
      eld.enable()
      const lateFrom = pairs.map((p) => p.lateMs.length)
      const trials = pairs.map(async (p, i) => {
        // Spread the outages over the probe schedule rather than lining them up on it.
        await sleep(i * DOWN_SPACING_MS + Math.random() * DEFAULT_PROBE_INTERVAL_MS)
        const srtt = p.a.prober.monitor('b')?.rtt.srtt ?? NaN
        late.push(...p.lateMs.slice(lateFrom[i]))
        const down = waitEvent(p, 'linkdown')
        const t0 = performance.now()
        p.set({ outage: true })
        const tDown = await down
        await sleep(OUTAGE_HOLD_MS)
        const up = waitEvent(p, 'linkup')
        const t1 = performance.now()
        p.set({ outage: false })
        const tUp = await up
        return { down: tDown - t0, up: tUp - t1, srtt }
      })
      res.push(...await Promise.all(trials))
      eld.disable()
      stallMs = Math.max(stallMs, eld.max / 1e6)
    } finally {
      await Promise.all(pairs.map(async (p) => { await p.stop() }))
    }
  }
  return {
    trials: DOWN_TRIALS,
    down_ms: res.map((r) => round(r.down, 1)).filter((x) => Number.isFinite(x)),
    up_ms: res.map((r) => round(r.up, 1)).filter((x) => Number.isFinite(x)),
    missed_down: res.filter((r) => !Number.isFinite(r.down)).length,
    missed_up: res.filter((r) => !Number.isFinite(r.up)).length,
    srtt_ms: res.map((r) => round(r.srtt, 2)),
    emu_late_p99_ms: round(percentile(late, 99), 3),
    loop_stall_max_ms: round(stallMs)
  }
}

/** Time of a's next `event`, or Infinity after DETECT_TIMEOUT_MS. */
async function waitEvent (p: LinkPair, event: 'linkup' | 'linkdown'): Promise<number> {
  return await new Promise<number>((resolve) => {
    const timer = setTimeout(() => { off(); resolve(Infinity) }, DETECT_TIMEOUT_MS)
    const off = p.a.prober.events.on(event, () => { clearTimeout(timer); off(); resolve(performance.now()) })
  })
}

async function main (): Promise<void> {
  const started = performance.now()
  const dir = await mkdtemp(join(tmpdir(), 'relaymesh-bench-probe-'))
  try {
    log(`soak: ${SOAK_LOSS * 100} % loss for ${SOAK_MS / 1000} s in a child process`)
    const soak = forkChild(SOAK, [String(SOAK_MS), String(SOAK_LOSS), String(SOAK_DELAY_MS), String(JITTER_MS)])
    const soakResult = nextMessage<SoakResult>(soak, 'result', SOAK_MS + 60_000)
    soakResult.catch(() => {})

    const meshKey = randomBytes(32)
    // Delay-major, so that each batch of four holds every loss rate once.
    const order = DELAYS_MS.flatMap((delayMs) => LOSSES.map((loss) => ({ loss, delayMs })))
      .map((c, i) => ({ ...c, seed: 1000 + 16 * i }))
    const cases: CaseResult[] = []
    for (let i = 0; i < order.length; i += BATCH) {
      const batch = order.slice(i, i + BATCH)
      log(`accuracy cases ${i + 1}-${i + batch.length} of ${order.length}: ${batch.map((c) => `${c.loss * 100}%/${c.delayMs}ms`).join(', ')}`)
      cases.push(...await runCases(batch, meshKey))
    }
    cases.sort((x, y) => x.loss - y.loss || x.delay_ms - y.delay_ms)

    log(`down/up detection: ${DOWN_TRIALS} links, ${DOWN_DELAY_MS} ms one-way`)
    const down = await runDownTrials(meshKey)

    const keyFile = await makeKey(dir)
    log(`cpu: idle hub, and a bare process with a ${TICK_MS} ms timer (the prober's tick)`)
    const [idle, timerCpu] = await Promise.all([
      measureHubCpu(dir, keyFile, 0, CPU_WARM_MS, CPU_WINDOW_MS),
      measureTimerCpu(TICK_MS, CPU_WARM_MS, CPU_WINDOW_MS)
    ])
    log(`cpu: hub with ${CPU_NEIGHBOURS} neighbours`)
    const busy = await measureHubCpu(dir, keyFile, CPU_NEIGHBOURS, CPU_WARM_MS, CPU_WINDOW_MS)

    log('waiting for the soak to finish')
    const s = await soakResult

    const clean = cases.find((c) => c.loss === 0 && c.delay_ms === 10) as CaseResult
    const maxLossErr = Math.max(...cases.map((c) => c.loss_err_pp))
    const maxRttErr = Math.max(...cases.map((c) => c.rtt_err_ms))
    const downBudget = 3 * DEFAULT_PROBE_INTERVAL_MS + 2 * DOWN_DELAY_MS + 50
    const downP99 = percentile(down.down_ms, 99)
    const upMax = down.up_ms.length > 0 ? Math.max(...down.up_ms) : NaN
    const falseDowns = s.downs_a + s.downs_b
    const out = {
      bench: 'probe',
      quick: QUICK,
      probe_interval_ms: DEFAULT_PROBE_INTERVAL_MS,
      fast_interval_ms: DEFAULT_FAST_INTERVAL_MS,
      warmup_s: WARM_MS / 1000,
      window_s: WINDOW_MS / 1000,
      cases_concurrent: BATCH,
      loop_stall_max_ms: Math.max(...cases.map((c) => c.batch_loop_stall_max_ms)),
      emu_late_p99_ms: Math.max(...cases.map((c) => c.emu_late_p99_ms)),
      max_loss_err_pp: maxLossErr,
      loss_target_pp: LOSS_TOLERANCE_PP,
      loss_ok: maxLossErr <= LOSS_TOLERANCE_PP,
      loss_within_3sd: cases.filter((c) => c.within_3sd).length + '/' + cases.length,
      max_rtt_err_ms: maxRttErr,
      rtt_ok: cases.every((c) => c.rtt_ok),
      rtt_failures: cases.filter((c) => !c.rtt_ok).map((c) => `${c.loss * 100}%/${c.delay_ms}ms: ${c.rtt_err_ms} > ${c.rtt_tol_ms}`),
      down_detect_p50_ms: percentile(down.down_ms, 50),
      down_detect_p99_ms: downP99,
      down_detect_max_ms: Math.max(...down.down_ms),
      down_budget_ms: downBudget,
      down_trials: down.trials,
      down_missed: down.missed_down,
      down_ok: down.missed_down === 0 && downP99 <= downBudget,
      up_detect_p50_ms: percentile(down.up_ms, 50),
      up_detect_max_ms: upMax,
      up_target_ms: UP_TARGET_MS,
      up_missed: down.missed_up,
      up_ok: down.missed_up === 0 && upMax <= UP_TARGET_MS,
      false_downs: falseDowns,
      false_downs_ok: falseDowns === 0,
      // Downs with no event-loop stall of the soak process before them (see probe-soak.ts).
      false_downs_without_stall: s.downs_without_stall,
      soak_duration_s: s.duration_s,
      soak: { ...s, type: undefined },
      probe_bps_per_link: clean.a_to_b_bps,
      probe_bps_reverse: clean.b_to_a_bps,
      probe_bps_target: BPS_TARGET,
      probe_bps_ok: Math.max(clean.a_to_b_bps, clean.b_to_a_bps) <= BPS_TARGET,
      // Not part of the target (defaults, no loss), but what quick retries cost on lossy links.
      probe_bps_max_any_case: Math.max(...cases.map((c) => Math.max(c.a_to_b_bps, c.b_to_a_bps))),
      probe_cpu_pct_100_neighbours: busy.cpu_pct,
      idle_cpu_pct: idle.cpu_pct,
      probe_cpu_delta_pct: round(busy.cpu_pct - idle.cpu_pct),
      tick_timer_cpu_pct: timerCpu,
      cpu_target_pct: CPU_TARGET_PCT,
      // Above the idle daemon; the idle figure itself includes the prober's tick timer.
      cpu_ok: busy.cpu_pct - idle.cpu_pct <= CPU_TARGET_PCT,
      cpu_total_ok: busy.cpu_pct <= CPU_TARGET_PCT,
      cpu: { idle, busy },
      down_trials_ms: down.down_ms,
      up_trials_ms: down.up_ms,
      down_srtt_ms: down.srtt_ms,
      down_threshold_max_ms: round(3 * DEFAULT_PROBE_INTERVAL_MS + Math.max(...down.srtt_ms) + DOWN_MARGIN_MS, 1),
      down_emu_late_p99_ms: down.emu_late_p99_ms,
      down_loop_stall_max_ms: down.loop_stall_max_ms,
      down_concurrent: DOWN_BATCH,
      cases,
      wall_s: round((performance.now() - started) / 1000, 1)
    }
    process.stdout.write(JSON.stringify(out) + '\n')
  } finally {
    killChildren()
    await rm(dir, { recursive: true, force: true })
  }
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => { killChildren(); process.exit(130) })
}
process.on('exit', killChildren)

main().then(() => { process.exit(0) }, (err: Error) => {
  log(`failed: ${err.stack ?? err.message}`)
  killChildren()
  process.exit(1)
})
