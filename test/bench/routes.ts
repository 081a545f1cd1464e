/**
 * bench:routes: full routing tables (next hops and loop-free backups) for 100 and 1,000 relays at
 * degree about 16, and a 200-relay full mesh, against python3-igraph's all-pairs distances on the
 * same graphs in the same run; then incremental recomputation after one link's cost changes.
 * Prints one JSON line. The engine splits full computations with its helper thread; each graph
 * reports the share of rows that thread computed (0 would mean the calling thread alone).
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { RouteEngine, type EngineEdge } from '../../topology/route-engine.js'
import { RouteThreads } from '../../topology/route-threads.js'
import { Prng } from '../../src/prng.js'

interface Graph { name: string, n: number, edges: EngineEdge[], runs: number }

function randomDegree (name: string, n: number, degree: number, seed: number): Graph {
  const r = new Prng(seed)
  const seen = new Set<number>()
  const edges: EngineEdge[] = []
  // A ring keeps the graph connected; random chords bring the degree up to about `degree`.
  const link = (u: number, v: number): void => {
    if (u === v || seen.has(u * n + v)) return
    seen.add(u * n + v); seen.add(v * n + u)
    edges.push({ from: u, to: v, cost: 5 + r.next() * 145 }, { from: v, to: u, cost: 5 + r.next() * 145 })
  }
  for (let u = 0; u < n; u++) link(u, (u + 1) % n)
  while (edges.length < n * degree) link(Math.floor(r.next() * n), Math.floor(r.next() * n))
  return { name, n, edges, runs: n >= 1000 ? 3 : 10 }
}

function fullMesh (name: string, n: number, seed: number): Graph {
  const r = new Prng(seed)
  const edges: EngineEdge[] = []
  for (let u = 0; u < n; u++) for (let v = 0; v < n; v++) if (u !== v) edges.push({ from: u, to: v, cost: 5 + r.next() * 145 })
  return { name, n, edges, runs: 5 }
}

/** Best time, and the share of rows the engine's helper thread computed (0 when single-threaded). */
function timeOurs (g: Graph): { ms: number, helperShare: number } {
  const e = new RouteEngine(g.n, g.edges)
  e.computeAll() // warm-up, as igraph gets
  const before = helperStats()
  let best = Infinity
  for (let i = 0; i < g.runs; i++) {
    const fresh = new RouteEngine(g.n, g.edges)
    const t = performance.now()
    fresh.computeAll()
    best = Math.min(best, performance.now() - t)
  }
  const after = helperStats()
  const rows = after.rows - before.rows
  return { ms: best, helperShare: rows === 0 ? 0 : (after.helperRows - before.helperRows) / rows }
}

function helperStats (): { rows: number, helperRows: number } {
  return RouteThreads.shared()?.stats() ?? { rows: 0, helperRows: 0 }
}

function timeIgraph (graphs: Graph[]): Record<string, number> {
  const script = fileURLToPath(new URL('../../../test/bench/igraph-distances.py', import.meta.url))
  const input = JSON.stringify(graphs.map((g) => ({ name: g.name, n: g.n, runs: g.runs, edges: g.edges.map((e) => [e.from, e.to, e.cost]) })))
  // Debian's python3 sees python3-igraph; a pyenv python on PATH does not.
  const r = spawnSync('/usr/bin/python3', [script], { input, maxBuffer: 1 << 26, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`igraph baseline failed (apt-get install python3-igraph): ${r.stderr}`)
  return JSON.parse(r.stdout) as Record<string, number>
}

function incremental (g: Graph, changes: number, seed: number): { median: number, p99: number, meanAffected: number } {
  const e = new RouteEngine(g.n, g.edges)
  e.computeAll()
  const r = new Prng(seed)
  const times: number[] = []
  let affected = 0
  for (let i = 0; i < changes; i++) {
    const ed = g.edges[Math.floor(r.next() * g.edges.length)]
    const cost = 5 + r.next() * 145
    const t = performance.now()
    affected += e.setCost(ed.from, ed.to, cost)
    times.push(performance.now() - t)
  }
  times.sort((a, b) => a - b)
  return { median: times[Math.floor(times.length / 2)], p99: times[Math.min(times.length - 1, Math.floor(times.length * 0.99))], meanAffected: affected / changes }
}

const graphs = [randomDegree('random_100_deg16', 100, 16, 1), randomDegree('random_1000_deg16', 1000, 16, 2), fullMesh('full_mesh_200', 200, 3)]
process.stderr.write('timing igraph…\n')
const igraph = timeIgraph(graphs)
// Start the route engine's helper thread once, as a controller does on its first full computation:
// a per-process cost like python3's start-up and igraph's import, which are not timed either.
await RouteThreads.shared()?.ready()
const result: Record<string, unknown> = {}
for (const g of graphs) {
  process.stderr.write(`timing ours on ${g.name}…\n`)
  const ours = timeOurs(g)
  result[g.name] = { n: g.n, edges: g.edges.length, ours_ms: round(ours.ms), igraph_ms: round(igraph[g.name]), ratio: round(ours.ms / igraph[g.name], 3), ours_helper_thread_share: round(ours.helperShare) }
}
const inc = incremental(graphs[1], 100, 4)
result.incremental_ms = round(inc.median)
result.incremental_p99_ms = round(inc.p99)
result.incremental_mean_destinations_recomputed = round(inc.meanAffected, 1)
result.note = 'ours = next hops + LFA backups for every pair, on the calling thread plus one helper thread (share of rows shown); igraph = Graph.distances(weights) only, one thread; best of runs after a warm-up'
process.stdout.write(JSON.stringify(result) + '\n')

function round (x: number, digits = 2): number { return Math.round(x * 10 ** digits) / 10 ** digits }
