/**
 * bench:sim-scale: model mode (sim/model) on a 1,000-relay mesh for 600 simulated seconds, the
 * issue's acceptance case (at most 5 real minutes on two cores). Relays sit at random places on
 * the globe, so link delays are great-circle delays; beyond 32 relays the controller assigns
 * k-nearest plus random neighbours, as in production. Five flows run throughout; a lossy link, a
 * relay failure and recovery, and a controller restart happen along the way.
 *
 * The baseline, measured in the same run, is the same scenario at 100 relays: wall time should
 * grow about with the number of probed links (probing dominates), so the ratio of the per-probe
 * costs shows whether anything grows faster than the mesh.
 *
 * Prints one JSON line. Flags: --relays N (default 1000), --duration S (default 600),
 * --baseline-relays N (default 100; 0 skips the baseline).
 */
import { spawnSync } from 'node:child_process'
import { parseArgs } from 'node:util'
import { Prng } from '../../src/prng.js'
import { validateScenario, type Scenario } from '../../sim/scenario.js'
import { ModelRun } from '../../sim/model/run-model.js'

/**
 * A model run keeps many objects alive for tens to hundreds of milliseconds (reports in flight,
 * link figures until the next report); with V8's default 16 MB young generation they are promoted
 * and collected by costly full collections. A larger young generation lets them die young: about a
 * quarter less CPU at 300 relays. The flag must be given at start, so the bench re-runs itself.
 */
const SEMI_SPACE_FLAG = '--max-semi-space-size=64'
if (!process.execArgv.includes(SEMI_SPACE_FLAG)) {
  const r = spawnSync(process.execPath, [SEMI_SPACE_FLAG, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' })
  process.exit(r.status ?? 1)
}

const { values } = parseArgs({
  options: {
    relays: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '600' },
    'baseline-relays': { type: 'string', default: '100' }
  }
})

function scenario (relays: number, durationS: number): Scenario {
  const r = new Prng(relays)
  const ids = Array.from({ length: relays }, (_, i) => `r${String(i).padStart(4, '0')}`)
  const pick = (): string => ids[Math.floor(r.next() * relays)]
  const flows = Array.from({ length: 5 }, (_, i) => {
    let to = pick()
    const from = pick()
    while (to === from) to = pick()
    return { id: `f${i}`, from, to, pps: 50 }
  })
  const at = (f: number): number => Math.round(durationS * f)
  return validateScenario({
    name: `scale-${relays}`,
    duration_s: durationS,
    seed: 7,
    relays: ids.map((id) => ({ id, location: { lat: -60 + r.next() * 130, lon: -180 + r.next() * 360 } })),
    default_link: { jitter_ms: 1 },
    flows,
    events: [
      { at_s: at(0.2), kind: 'link', between: [flows[0].from, flows[0].to], set: { loss: 0.2 }, label: 'direct path of f0 turns lossy' },
      { at_s: at(0.35), kind: 'relay_down', relay: flows[1].from === ids[0] ? ids[1] : ids[0] },
      { at_s: at(0.45), kind: 'relay_up', relay: flows[1].from === ids[0] ? ids[1] : ids[0] },
      { at_s: at(0.6), kind: 'controller_down' },
      { at_s: at(0.65), kind: 'controller_up' }
    ]
  }, 'bench scenario')
}

interface Figures { relays: number, sim_seconds: number, wall_ms: number, cpu_ms: number, warmup_s: number, events: number, probes: number, probed_links: number, computations: number, compute_wall_ms: number, table_versions: number, mean_flow_loss: number, us_per_probe: number }

async function measure (relays: number, durationS: number): Promise<Figures> {
  const s = scenario(relays, durationS)
  const t0 = performance.now()
  const run: ModelRun = new ModelRun(s, {
    onProgress: (t) => {
      if (t % 30 !== 0) return
      const st = run.stats()
      process.stderr.write(`bench sim-scale: ${relays} relays, ${t}/${durationS} s after ${Math.round(st.warmupMs / 1000)} s warm-up, ${Math.round(performance.now() - t0)} ms: ${JSON.stringify(st)}\n`)
    }
  })
  const cpu0 = process.cpuUsage()
  const result = await run.run()
  const wall = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  const st = run.stats()
  return {
    relays,
    sim_seconds: durationS,
    wall_ms: Math.round(wall),
    // On a shared machine wall time moves with other load; CPU time (both threads) much less.
    cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
    warmup_s: st.warmupMs / 1000,
    events: st.events,
    probes: st.probes,
    probed_links: st.probedLinks,
    computations: st.computations,
    compute_wall_ms: Math.round(st.computeWallMs),
    table_versions: result.table_versions,
    mean_flow_loss: Math.round(result.flows.reduce((a, f) => a + f.loss, 0) / result.flows.length * 1e4) / 1e4,
    us_per_probe: Math.round(wall * 1000 / st.probes * 100) / 100
  }
}

const duration = Number(values.duration)
const main = await measure(Number(values.relays), duration)
const baselineRelays = Number(values['baseline-relays'])
const baseline = baselineRelays > 0 ? await measure(baselineRelays, duration) : undefined
process.stdout.write(JSON.stringify({
  bench: 'sim-scale',
  ...main,
  within_budget: main.wall_ms <= 300_000,
  baseline,
  wall_ratio: baseline === undefined ? null : Math.round(main.wall_ms / baseline.wall_ms * 100) / 100,
  per_probe_ratio: baseline === undefined ? null : Math.round(main.us_per_probe / baseline.us_per_probe * 100) / 100
}) + '\n')
