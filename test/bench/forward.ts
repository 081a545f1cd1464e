/**
 * Forwarding benchmark: 200-B datagrams through a three-relay tunnel chain against a bare
 * node:dgram chain of the same shape, measured in one run; and the same relay chain with the
 * payload AEAD switched off (a test-only setting), for what sealing costs.
 *
 *   relay:  generator → relay a (tunnel in) → relay b → relay c (tunnel out) → sink
 *   clear:  the same, payloads not sealed (ratio_pps_no_aead)
 *   bare:   generator → bare1 → bare2 → bare3 → sink
 *
 * Every relay and bare hop is its own process. The generator and the two sinks are small C programs
 * (fwd-gen.c, fwd-sink.c) that the bench compiles with `cc` into its temp dir, so neither end of the
 * chain is the limit; send and receive times both come from CLOCK_MONOTONIC. Each chain carries a
 * warm-up run (JIT, heap, tunnel session) before anything is measured.
 *
 * Prints one JSON line on stdout; progress goes to stderr. For each chain it finds the highest rate
 * with < 0.1 % loss by bisection to within 2 %, and the one-way latency and loss at 10,000 pps. The
 * chains take turns trial by trial, so a noisy neighbour on this shared machine hits both alike,
 * and a trial during which other processes took CPU is repeated once they are quiet.
 *
 * Environment:
 *   RELAYMESH_BENCH_TUNNEL_CLASS=C   the relay chain's tunnel in traffic class C (audio: relays keep its
 *                                    packets for per-hop recovery, docs/recovery.md)
 *   RELAYMESH_BENCH_RECOVERY=off     relays with per-hop recovery switched off
 *   RELAYMESH_BENCH_PROF=DIR         profile mode: start relays and bare hops with --cpu-prof into
 *                                    DIR, run each chain at a fixed rate, print that run's figures
 *   RELAYMESH_BENCH_PROF_PPS=N       rate of the profile run (default 20000)
 *   RELAYMESH_BENCH_PROF_SECONDS=N   length of the profile run per chain (default 10)
 */
import { rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WIRE_VERSION } from '../../src/wire/constants.js'
import { PAYLOAD_CIPHER, payloadAead } from '../../src/wire/seal.js'
import { buildCTools, CGenerator, CSink } from './c-tools.js'
import {
  cpuNs, foreignCpus, killChildrenNow, log, PAYLOAD_BYTES, relayDrops, snapshot, spawnChild, startBareChain,
  startRelayChain, stopChildren, type Chain
} from './forward-chains.js'

const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url))

/** Loss at or above this fails a trial. */
const MAX_LOSS = 0.001
/** Bisection stops when the failing rate is within this factor of the passing one. */
const PRECISION = 1.02
const START_PPS = 16_000
const MIN_PPS = 500
const LATENCY_PPS = 10_000
/** Latency runs: LATENCY_ROUNDS × (relay, bare, bare, relay), LATENCY_MS measured each. */
const LATENCY_ROUNDS = 4
const LATENCY_MS = 1000
const WARM_MS = 300
/** Warm-up run of each chain before any measurement. */
const WARMUP_MS = 3000
const MEASURE_MS = 2000
const STRAGGLER_MS = 300
/** Extra rest after a failed trial, so its backlog drains before the next one. */
const RECOVER_MS = 500
/** A pacer that fell behind this far did not offer the rate: the machine is saturated. */
const PACER_SLACK = 0.98
/** A trial during which other processes used more CPU than this is repeated. */
const FOREIGN_LIMIT = 0.1
const DISTURBED_REPEATS = 3
const QUIET_WAIT_MS = 10_000
/** Time the bench may spend waiting out other processes and repeating, so it ends within ~4 min. */
const REPEAT_BUDGET_MS = 60_000

const PROF_DIR = process.env.RELAYMESH_BENCH_PROF
const PROF_PPS = Number(process.env.RELAYMESH_BENCH_PROF_PPS ?? 20_000)
const PROF_SECONDS = Number(process.env.RELAYMESH_BENCH_PROF_SECONDS ?? 10)

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** The temp dir with the key and mesh file; removed on any exit. */
let tempDir: string | undefined

process.on('exit', () => {
  killChildrenNow()
  if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true })
})
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    log(`${sig}: stopping`)
    killChildrenNow()
    process.exit(130)
  })
}

// ---- trials ---------------------------------------------------------------------------------

interface TrialResult {
  rate: number
  /** Rate the pacer achieved over the whole trial. */
  offered: number
  sent: number
  measured: number
  received: number
  loss: number
  pass: boolean
  latencies: Float64Array
  /** CPU per packet of each hop, µs. */
  cpuUsPerPacket: number[]
  /** CPUs' worth of other processes' work during the trial. */
  foreign: number
}

let trialCounter = 0
let gen: CGenerator | undefined

interface TrialOptions { measureMs?: number, latency?: boolean }

async function runTrial (chain: Chain, rate: number, opts: TrialOptions = {}): Promise<TrialResult> {
  const trial = ++trialCounter
  const warm = Math.round(rate * WARM_MS / 1000)
  const total = warm + Math.round(rate * (opts.measureMs ?? MEASURE_MS) / 1000)
  await chain.sink.arm(trial, warm, total, opts.latency === true)
  const cpu0 = await Promise.all(chain.hops.map(async (p) => await cpuNs(p.pid)))
  const snap0 = await snapshot()
  if (gen === undefined) throw new Error('generator not started')
  const r = await gen.run({ port: chain.entryPort, trial, rate, warm, total })
  await sleep(STRAGGLER_MS)
  const snap1 = await snapshot()
  const foreign = foreignCpus(snap0, snap1)
  const cpu1 = await Promise.all(chain.hops.map(async (p) => await cpuNs(p.pid)))
  const measured = total - warm
  const report = await chain.sink.report()
  const received = report.received
  const loss = 1 - received / measured
  const offered = r.sent / (r.elapsedNs / 1e9)
  const pass = loss < MAX_LOSS && offered >= rate * PACER_SLACK
  const cpuUsPerPacket = cpu0.map((c, i) => round((cpu1[i] - c) / r.sent / 1000, 2))
  const latencies = report.latencies
  const latText = latencies.length === 0 ? '' : `  p50 ${round(percentile(latencies, 0.5))} µs  p90 ${round(percentile(latencies, 0.9))} µs`
  log(`${chain.name.padEnd(5)} ${String(rate).padStart(6)} pps  offered ${Math.round(offered)}  loss ${(loss * 100).toFixed(3)}%  ` +
    `cpu/pkt µs ${cpuUsPerPacket.join('/')}${latText}  foreign ${foreign.toFixed(2)} CPU  ${pass ? 'pass' : 'FAIL'}`)
  if (!pass) await sleep(RECOVER_MS)
  return { rate, offered, sent: r.sent, measured, received, loss, pass, latencies, cpuUsPerPacket, foreign }
}

let disturbedTrials = 0
let repeatBudgetMs = REPEAT_BUDGET_MS

/** Waits until other processes leave the CPUs alone, for at most `maxMs`. */
async function waitForQuiet (maxMs: number): Promise<void> {
  const end = Date.now() + maxMs
  while (Date.now() < end) {
    const a = await snapshot()
    await sleep(500)
    if (foreignCpus(a, await snapshot()) < FOREIGN_LIMIT) return
  }
}

/**
 * Runs a trial; one that other processes disturbed (tests running beside the bench on this shared
 * machine) is repeated once they are quiet. After DISTURBED_REPEATS, or once REPEAT_BUDGET_MS is
 * spent, the disturbed result stands and is counted in the output.
 */
async function cleanTrial (chain: Chain, rate: number, opts: TrialOptions = {}): Promise<TrialResult> {
  for (let i = 0; ; i++) {
    const started = Date.now()
    const r = await runTrial(chain, rate, opts)
    if (i > 0) repeatBudgetMs -= Date.now() - started
    if (r.foreign < FOREIGN_LIMIT) return r
    if (i >= DISTURBED_REPEATS || repeatBudgetMs <= 0) { disturbedTrials++; return r }
    log(`other processes used ${r.foreign.toFixed(2)} CPU during that trial; repeating it when they are quiet`)
    const waited = Date.now()
    await waitForQuiet(Math.min(QUIET_WAIT_MS, repeatBudgetMs))
    repeatBudgetMs -= Date.now() - waited
  }
}

/** A failed trial is run once more before the rate counts as failed: the machine is shared. */
async function trialWithRetry (chain: Chain, rate: number): Promise<boolean> {
  if ((await cleanTrial(chain, rate)).pass) return true
  return (await cleanTrial(chain, rate)).pass
}

/** Geometric search for the highest passing rate: doubling until a failure, then bisection. */
class RateSearch {
  lo = 0
  hi = Infinity

  next (): number | undefined {
    if (this.hi === Infinity) return this.lo === 0 ? START_PPS : this.lo * 2
    if (this.lo === 0) return this.hi / 2 < MIN_PPS ? undefined : Math.round(this.hi / 2)
    if (this.hi / this.lo <= PRECISION) return undefined
    return Math.round(Math.sqrt(this.lo * this.hi))
  }

  report (rate: number, pass: boolean): void {
    if (pass) this.lo = rate; else this.hi = rate
  }
}

function percentile (sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}

function round (x: number, digits = 1): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

interface LatencyFigures { p50: number, p90: number, p99: number, loss: number, cpu: number[] }

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/**
 * Combines several latency runs of one chain. Each percentile is the median over runs of that
 * run's percentile, not a percentile of the pooled samples: this VM's host now and then stalls a
 * vCPU for tens of milliseconds, and one such run would otherwise decide p50 and p99 on its own.
 * Loss is pooled; CPU per packet is the median too.
 */
function latencyFigures (runs: TrialResult[]): LatencyFigures {
  const at = (p: number): number => round(median(runs.map((r) => percentile(r.latencies, p))))
  const measured = runs.reduce((n, r) => n + r.measured, 0)
  const received = runs.reduce((n, r) => n + r.received, 0)
  const cpu = runs[0].cpuUsPerPacket.map((_, i) => round(median(runs.map((r) => r.cpuUsPerPacket[i])), 2))
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), loss: 1 - received / measured, cpu }
}

// ---- main -----------------------------------------------------------------------------------

async function main (): Promise<void> {
  const t0 = Date.now()
  const dir = await mkdtemp(join(tmpdir(), 'relaymesh-bench-'))
  tempDir = dir
  let relaySink: CSink | undefined
  let clearSink: CSink | undefined
  let bareSink: CSink | undefined
  try {
    const tools = await buildCTools(dir)
    relaySink = new CSink(tools.sink)
    clearSink = new CSink(tools.sink)
    bareSink = new CSink(tools.sink)
    const keyFile = join(dir, 'mesh.key')
    const keygen = spawnChild([CLI, 'keygen', keyFile], ['ignore', 'ignore', 'pipe'])
    const code = await new Promise((resolve) => { keygen.once('exit', resolve) })
    if (code !== 0) throw new Error(`relaymesh keygen exited with ${String(code)}`)

    await relaySink.start()
    await clearSink.start()
    await bareSink.start()
    const relay = await startRelayChain(dir, keyFile, relaySink, PROF_DIR)
    const clear = await startRelayChain(dir, keyFile, clearSink, PROF_DIR, true)
    const bare = await startBareChain(bareSink, PROF_DIR)
    const chains = [relay, clear, bare]
    gen = new CGenerator(tools.gen)
    log(`chains up: relay entry ${relay.entryPort}, bare entry ${bare.entryPort}; ${cpus().length} CPUs`)

    // JIT warm-up, and opens the tunnel session so its connect is not inside a measurement.
    // Long enough for each daemon's heap to reach its steady size, whose first collections are the
    // slow ones (docs/performance.md).
    for (const c of chains) await runTrial(c, LATENCY_PPS, { measureMs: WARMUP_MS })

    if (PROF_DIR !== undefined) {
      const out: Record<string, unknown> = { bench: 'forward', mode: 'profile', rate_pps: PROF_PPS, seconds: PROF_SECONDS }
      for (const c of chains) {
        const r = await cleanTrial(c, PROF_PPS, { measureMs: PROF_SECONDS * 1000, latency: true })
        const f = latencyFigures([r])
        Object.assign(out, { [`${c.name}_loss`]: f.loss, [`${c.name}_p50_us`]: f.p50, [`${c.name}_p99_us`]: f.p99, [`${c.name}_cpu_us_per_pkt`]: f.cpu })
      }
      await stopChildren()
      log(`profiles written to ${PROF_DIR}`)
      process.stdout.write(JSON.stringify(out) + '\n')
      return
    }

    // Latency at 10 kpps: short runs in the order relay, bare, bare, relay, repeated. This machine's
    // noise changes from second to second; fine interleaving spreads it evenly over both chains.
    const lat: Record<Chain['name'], TrialResult[]> = { relay: [], clear: [], bare: [] }
    for (let i = 0; i < LATENCY_ROUNDS; i++) {
      for (const c of [relay, clear, bare, bare, clear, relay]) lat[c.name].push(await cleanTrial(c, LATENCY_PPS, { measureMs: LATENCY_MS, latency: true }))
    }
    const rl = latencyFigures(lat.relay)
    const cl = latencyFigures(lat.clear)
    const bl = latencyFigures(lat.bare)

    // Maximum rate, the two searches taking turns.
    const search = { relay: new RateSearch(), clear: new RateSearch(), bare: new RateSearch() }
    for (;;) {
      let stepped = false
      for (const c of chains) {
        const rate = search[c.name].next()
        if (rate === undefined) continue
        search[c.name].report(rate, await trialWithRetry(c, rate))
        stepped = true
      }
      if (!stepped) break
    }
    const relayMax = search.relay.lo
    const clearMax = search.clear.lo
    const bareMax = search.bare.lo

    for (const c of [clear]) {
      const d = await relayDrops(c)
      if (Object.keys(d).length > 0) log(`no-AEAD relay drop counters: ${JSON.stringify(d)}`)
    }
    const drops = await relayDrops(relay)
    if (Object.keys(drops).length > 0) log(`relay drop counters: ${JSON.stringify(drops)}`)
    await stopChildren()

    process.stdout.write(JSON.stringify({
      bench: 'forward',
      payload_bytes: PAYLOAD_BYTES,
      hops: 3,
      wire: WIRE_VERSION,
      payload_aead: PAYLOAD_CIPHER,
      // native (native/aead.c, when built) or node:crypto: src/wire/seal.ts.
      payload_aead_impl: payloadAead.impl,
      relay_max_pps: relayMax,
      no_aead_max_pps: clearMax,
      bare_max_pps: bareMax,
      ratio_pps: round(relayMax / bareMax, 3),
      ratio_pps_no_aead: round(clearMax / bareMax, 3),
      latency_pps: LATENCY_PPS,
      latency_runs: LATENCY_ROUNDS * 2,
      relay_p50_us: rl.p50,
      relay_p90_us: rl.p90,
      relay_p99_us: rl.p99,
      bare_p50_us: bl.p50,
      bare_p90_us: bl.p90,
      bare_p99_us: bl.p99,
      ratio_p50: round(rl.p50 / bl.p50, 3),
      ratio_p99: round(rl.p99 / bl.p99, 3),
      relay_loss_10k: round(rl.loss, 6),
      bare_loss_10k: round(bl.loss, 6),
      relay_cpu_us_per_pkt: rl.cpu,
      no_aead_cpu_us_per_pkt: cl.cpu,
      bare_cpu_us_per_pkt: bl.cpu,
      loss_threshold: MAX_LOSS,
      disturbed_trials: disturbedTrials,
      trials: trialCounter,
      seconds: round((Date.now() - t0) / 1000),
      cpus: cpus().length,
      node: process.version
    }) + '\n')
  } finally {
    gen?.close()
    relaySink?.close()
    clearSink?.close()
    bareSink?.close()
    killChildrenNow()
    await rm(dir, { recursive: true, force: true })
    tempDir = undefined
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench: failed: ${err.stack ?? err.message}\n`)
  killChildrenNow()
  process.exitCode = 1
})
