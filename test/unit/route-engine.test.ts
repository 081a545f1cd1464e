import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DirectedGraph } from 'graphology'
import { dijkstra } from 'graphology-shortest-path'
import { RouteEngine, type EngineEdge } from '../../topology/route-engine.js'
import { Prng } from '../../src/transport/impair/prng.js'

function randomGraph (seed: number, n: number, degree: number): EngineEdge[] {
  const r = new Prng(seed)
  const seen = new Set<number>()
  const edges: EngineEdge[] = []
  for (let u = 0; u < n; u++) {
    for (let k = 0; k < degree / 2; k++) {
      const v = Math.floor(r.next() * n)
      if (v === u || seen.has(u * n + v)) continue
      seen.add(u * n + v); seen.add(v * n + u)
      // Asymmetric costs, as measured links are.
      edges.push({ from: u, to: v, cost: 1 + Math.floor(r.next() * 50) }, { from: v, to: u, cost: 1 + Math.floor(r.next() * 50) })
    }
  }
  return edges
}

/** The oracle: graphology-shortest-path's Dijkstra over the same graph. */
function oracleCost (n: number, edges: EngineEdge[], u: number, d: number): number {
  const g = new DirectedGraph()
  for (let i = 0; i < n; i++) g.addNode(String(i))
  for (const e of edges) if (Number.isFinite(e.cost)) g.addEdge(String(e.from), String(e.to), { w: e.cost })
  const path = dijkstra.bidirectional(g, String(u), String(d), 'w')
  if (path === null || path === undefined || path.length === 0) return Infinity
  let c = 0
  for (let i = 0; i + 1 < path.length; i++) c += g.getEdgeAttribute(g.edge(path[i], path[i + 1]), 'w') as number
  return c
}

function checkTables (e: RouteEngine, n: number, edges: EngineEdge[], samplePairs: Array<[number, number]>): void {
  const cost = new Map(edges.map((x) => [x.from * n + x.to, x.cost]))
  for (const [u, d] of samplePairs) {
    if (u === d) continue
    assert.equal(e.dist[d * n + u], oracleCost(n, edges, u, d), `dist ${u}→${d}`)
  }
  for (let d = 0; d < n; d++) {
    for (let u = 0; u < n; u++) {
      if (u === d || e.dist[d * n + u] === Infinity) continue
      // Following next hops always reaches d: no loops, no dead ends.
      const p = e.path(u, d)
      assert.ok(p.length >= 2 && p[p.length - 1] === d, `path ${u}→${d}`)
      const b = e.backup[d * n + u]
      if (b >= 0) {
        assert.notEqual(b, e.next[d * n + u])
        assert.ok(cost.has(u * n + b), 'backup is a neighbour')
        assert.ok(e.dist[d * n + b] < e.dist[u * n + b] + e.dist[d * n + u], 'backup satisfies the loop-free condition')
      }
    }
  }
}

test('distances match graphology-shortest-path on random graphs and every route reaches its destination', () => {
  for (const seed of [1, 2, 3]) {
    const n = 40
    const edges = randomGraph(seed, n, 6)
    const e = new RouteEngine(n, edges)
    e.computeAll()
    const r = new Prng(seed + 100)
    const pairs: Array<[number, number]> = Array.from({ length: 150 }, () => [Math.floor(r.next() * n), Math.floor(r.next() * n)])
    checkTables(e, n, edges, pairs)
  }
})

test('next hops from a fresh computation lie on a shortest path, ties to the smaller index', () => {
  // 0→1→3 and 0→2→3 both cost 2.
  const e = new RouteEngine(4, [{ from: 0, to: 1, cost: 1 }, { from: 1, to: 3, cost: 1 }, { from: 0, to: 2, cost: 1 }, { from: 2, to: 3, cost: 1 }])
  e.computeAll()
  assert.equal(e.next[3 * 4 + 0], 1)
  assert.equal(e.backup[3 * 4 + 0], 2)
})

test('incremental cost changes give the same distances as recomputing from scratch', () => {
  const n = 60
  const edges = randomGraph(9, n, 8)
  const inc = new RouteEngine(n, edges)
  inc.computeAll()
  const r = new Prng(77)
  for (let i = 0; i < 40; i++) {
    const ed = edges[Math.floor(r.next() * edges.length)]
    const c = r.next() < 0.15 ? Infinity : 1 + Math.floor(r.next() * 50)
    ed.cost = c
    inc.setCost(ed.from, ed.to, c)
  }
  const full = new RouteEngine(n, edges)
  full.computeAll()
  assert.deepEqual(inc.dist, full.dist)
  checkTables(inc, n, edges, [[0, 5], [7, 3], [10, 59]])
})

test('route hysteresis keeps a next hop that is only slightly worse, but never one that is not closer', () => {
  // 0 reaches 3 through 1 (cost 10+10) or 2 (cost 10+10.5 after the change).
  const edges = [{ from: 0, to: 1, cost: 10 }, { from: 1, to: 3, cost: 10 }, { from: 0, to: 2, cost: 10 }, { from: 2, to: 3, cost: 11 }]
  const e = new RouteEngine(4, edges)
  e.computeAll()
  assert.equal(e.next[3 * 4 + 0], 1)
  e.setCost(1, 3, 10.5) // 2 is now 0.5 cheaper: within the slack, keep 1
  assert.equal(e.next[3 * 4 + 0], 1)
  e.setCost(1, 3, 30) // much worse: switch
  assert.equal(e.next[3 * 4 + 0], 2)
  e.setCost(1, 3, Infinity)
  assert.equal(e.next[3 * 4 + 0], 2)
  assert.equal(e.next[3 * 4 + 1], -1)
})
