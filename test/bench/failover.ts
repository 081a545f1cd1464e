/**
 * bench:failover: how fast traffic gets off a bad link, on the five-relay test mesh (a→b→e is the
 * cheapest a→e path; test/helpers/mesh-harness.ts) with a 200 pps tunnel flow a→e. Each trial is a
 * fresh mesh in this process on real UDP and QUIC sockets.
 *
 *   blackhole: link a–b drops everything; the figure is the receiver's longest gap. Measured with
 *     local fast reroute (ours) and, as the baseline, with it off, so only the controller's new
 *     tables move the traffic.
 *   loss30: link b–e starts losing 30%; the figure is the time until a's next hop is no longer b,
 *     and the flow's loss over the 5 s after the change, against the 30% of staying put.
 *
 * Prints one JSON line. RELAYMESH_BENCH_TRIALS sets the blackhole trial count (default 20);
 * RELAYMESH_BENCH_ONLY=loss30 runs only the loss trials (RELAYMESH_BENCH_LOSS_TRIALS, default half).
 */
import { Flow, MeshHarness, sleep } from '../helpers/mesh-harness.js'

const TRIALS = Number(process.env.RELAYMESH_BENCH_TRIALS ?? 20)
const LOSS_TRIALS = Number(process.env.RELAYMESH_BENCH_LOSS_TRIALS ?? Math.max(3, Math.round(TRIALS / 2)))
const ONLY_LOSS = process.env.RELAYMESH_BENCH_ONLY === 'loss30'

function pct (xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)]
}
const r1 = (x: number): number => Math.round(x * 10) / 10
const log = (m: string): void => { process.stderr.write(`bench failover: ${m}\n`) }

async function mesh (fastReroute: boolean): Promise<{ h: MeshHarness, flow: Flow }> {
  const h = new MeshHarness()
  h.fastReroute = fastReroute
  await h.init()
  await h.startController()
  const flow = new Flow()
  const ingress = await h.fiveRelays(await flow.open())
  flow.start(ingress)
  await h.until('a→b→e', () => h.nextHop('a', 'e') === 'b' && [...h.relays.values()].every((r) => r.forwarding.size === 4), 20_000)
  const e = h.relay('e').number
  await h.until('a backup toward e', () => h.relay('a').plane.getRoute(e)?.backup !== undefined, 10_000)
  await sleep(1000)
  return { h, flow }
}

async function blackhole (fastReroute: boolean): Promise<number> {
  const { h, flow } = await mesh(fastReroute)
  try {
    const t0 = performance.now()
    h.impair('a', 'b', { outage: true })
    await h.until('a moves off b', () => h.nextHop('a', 'e') !== 'b', 10_000)
    await sleep(1000)
    return flow.maxGap(t0, performance.now())
  } finally {
    flow.close()
    await h.stop()
  }
}

async function loss30 (): Promise<{ moveMs: number, loss: number }> {
  const { h, flow } = await mesh(true)
  try {
    const from = flow.sent
    const t0 = performance.now()
    h.impair('b', 'e', { loss: 0.3 })
    await h.until('a moves off b', () => h.nextHop('a', 'e') !== 'b', 10_000)
    const moveMs = performance.now() - t0
    await sleep(Math.max(0, 5000 - moveMs))
    const to = flow.sent
    await sleep(300)
    const got = new Set(flow.arrivals.map((x) => x.seq))
    let lost = 0
    for (let s = from; s < to; s++) if (!got.has(s)) lost++
    return { moveMs, loss: lost / (to - from) }
  } finally {
    flow.close()
    await h.stop()
  }
}

const ours: number[] = []
const controllerOnly: number[] = []
for (let i = 0; i < (ONLY_LOSS ? 0 : TRIALS); i++) {
  ours.push(await blackhole(true))
  log(`blackhole trial ${i + 1}/${TRIALS}: gap ${ours[i].toFixed(0)} ms with fast reroute`)
}
for (let i = 0; i < (ONLY_LOSS ? 0 : Math.max(3, Math.round(TRIALS / 4))); i++) {
  controllerOnly.push(await blackhole(false))
  log(`baseline trial ${i + 1}: gap ${controllerOnly[i].toFixed(0)} ms, controller only`)
}
const moves: number[] = []
const losses: number[] = []
for (let i = 0; i < LOSS_TRIALS; i++) {
  const r = await loss30()
  moves.push(r.moveMs)
  losses.push(r.loss)
  log(`loss30 trial ${i + 1}/${LOSS_TRIALS}: moved after ${r.moveMs.toFixed(0)} ms, flow loss ${(r.loss * 100).toFixed(1)}% over 5 s`)
}
process.stdout.write(JSON.stringify({
  bench: 'failover',
  trials: ONLY_LOSS ? 0 : TRIALS,
  blackhole_gap_p50_ms: r1(pct(ours, 50)),
  blackhole_gap_p99_ms: r1(pct(ours, 99)),
  blackhole_gap_max_ms: r1(Math.max(...ours)),
  baseline_controller_only_gap_p50_ms: r1(pct(controllerOnly, 50)),
  baseline_controller_only_gap_max_ms: r1(Math.max(...controllerOnly)),
  loss30_trials: LOSS_TRIALS,
  loss30_move_p50_ms: r1(pct(moves, 50)),
  loss30_move_max_ms: r1(Math.max(...moves)),
  loss30_flow_loss_5s: Math.round((losses.reduce((a, b) => a + b, 0) / losses.length) * 1000) / 1000,
  baseline_stay_put_loss: 0.3
}) + '\n')
process.exit(0)
