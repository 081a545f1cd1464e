/**
 * bench:sim-agree: do model mode and process mode tell the same story? Runs one small scenario (a
 * triangle whose cheapest link fails at 10 s) RELAYMESH_BENCH_RUNS times (default 10) in each mode
 * with seeds 1…N, and prints one JSON line: the final routes of each mode (and whether every run of
 * both agrees), and the median convergence time of the failure event in each mode with their ratio.
 * The issue asks for the same final routes and medians within 20% of each other.
 */
import { runModel } from '../../sim/model/run-model.js'
import { runProcess } from '../../sim/process/runner.js'
import { validateScenario, type Scenario } from '../../sim/scenario.js'
import type { SimResult } from '../../sim/types.js'

const RUNS = Number(process.env.RELAYMESH_BENCH_RUNS ?? 10)

function scenario (seed: number): Scenario {
  return validateScenario({
    name: 'agree-triangle',
    duration_s: 25,
    seed,
    relays: [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
    topology: 'listed',
    links: [
      { between: ['a', 'c'], state: { delay_ms: 10 } },
      { between: ['a', 'b'], state: { delay_ms: 12 } },
      { between: ['b', 'c'], state: { delay_ms: 12 } }
    ],
    flows: [{ id: 'f1', from: 'a', to: 'c', pps: 50 }],
    events: [{ at_s: 10, kind: 'link', between: ['a', 'c'], set: { outage: true }, label: 'a–c fails' }]
  })
}

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const routesKey = (r: SimResult): string => JSON.stringify(Object.fromEntries(Object.entries(r.final_routes).sort().map(([s, m]) => [s, Object.fromEntries(Object.entries(m).sort().map(([d, e]) => [d, e.next_hop]))])))
const log = (m: string): void => { process.stderr.write(`bench sim-agree: ${m}\n`) }

const model: SimResult[] = []
const proc: SimResult[] = []
for (let i = 1; i <= RUNS; i++) {
  model.push(await runModel(scenario(i)))
  proc.push(await runProcess(scenario(i)))
  log(`run ${i}/${RUNS}: convergence model ${String(model[i - 1].events[0]?.convergence_ms)} ms, process ${String(proc[i - 1].events[0]?.convergence_ms)} ms`)
}
const conv = (rs: SimResult[]): number[] => rs.map((r) => r.events[0]?.convergence_ms).filter((c): c is number => c !== null && c !== undefined)
const mMed = median(conv(model))
const pMed = median(conv(proc))
const keys = new Set([...model, ...proc].map(routesKey))
process.stdout.write(JSON.stringify({
  bench: 'sim-agree',
  runs: RUNS,
  final_routes_model: JSON.parse(routesKey(model[0])),
  final_routes_process: JSON.parse(routesKey(proc[0])),
  final_routes_agree_all_runs: keys.size === 1,
  convergence_median_ms_model: mMed,
  convergence_median_ms_process: pMed,
  convergence_ratio_model_over_process: mMed !== null && pMed !== null ? Math.round((mMed / pMed) * 1000) / 1000 : null,
  convergence_runs_model: conv(model),
  convergence_runs_process: conv(proc),
  mesh_loss_model: model.map((r) => r.flows[0].loss),
  mesh_loss_process: proc.map((r) => r.flows[0].loss)
}) + '\n')
process.exit(0)
