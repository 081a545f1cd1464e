import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MeshGraph } from '../../topology/mesh-graph.js'
import { measuredFromPairs, planNeighbours, selectNeighbours, type NeighbourPolicy } from '../../topology/neighbours.js'
import { latencyLossPolicy, materialChange } from '../../topology/cost.js'

const clean = (rttMs: number) => ({ rttMs, jitterMs: 0, loss: 0, up: true })

function triangle (): MeshGraph {
  const g = new MeshGraph()
  for (const id of ['a', 'b', 'c']) g.upsertRelay(id, `127.0.0.1:700${id.charCodeAt(0) - 96}`)
  for (const [x, y] of [['a', 'b'], ['b', 'c'], ['a', 'c']]) { g.updateLink(x, y, clean(20)); g.updateLink(y, x, clean(20)) }
  return g
}

test('the cost penalises loss: 20% loss on the direct link makes a clean detour cheaper', () => {
  const direct = latencyLossPolicy.cost({ rttMs: 40, jitterMs: 1, loss: 0.2, up: true })
  const detour = 2 * latencyLossPolicy.cost({ rttMs: 25, jitterMs: 1, loss: 0, up: true })
  assert.ok(detour < direct, `detour ${detour} vs direct ${direct}`)
  assert.equal(latencyLossPolicy.cost({ rttMs: 10, jitterMs: 0, loss: 0, up: false }), Infinity)
})

test('cost hysteresis ignores small changes and follows material ones', () => {
  assert.equal(materialChange(50, 53), false)
  assert.equal(materialChange(50, 60), true)
  assert.equal(materialChange(5, 6.5), false, 'under 2 ms is never material')
  assert.equal(materialChange(50, Infinity), true)
})

test('a degraded link moves the route onto the detour, and the backup covers the primary', () => {
  const g = triangle()
  assert.deepEqual(g.path('a', 'c'), ['a', 'c'])
  const t = g.tableFor('a').get('c')
  assert.equal(t?.nextHop, 'c')
  assert.equal(t?.backup, 'b')
  assert.equal(g.updateLink('a', 'c', { rttMs: 20, jitterMs: 0, loss: 0.3, up: true }), true)
  assert.deepEqual(g.path('a', 'c'), ['a', 'b', 'c'])
  g.updateLink('a', 'c', { rttMs: 20, jitterMs: 0, loss: 0, up: false })
  assert.deepEqual(g.path('a', 'c'), ['a', 'b', 'c'])
})

test('nextHop follows the current routes, and is undefined for the same relay or an unreachable one', () => {
  const g = triangle()
  assert.equal(g.nextHop('a', 'c'), 'c')
  g.updateLink('a', 'c', { rttMs: 20, jitterMs: 0, loss: 0, up: false })
  assert.equal(g.nextHop('a', 'c'), 'b')
  assert.equal(g.nextHop('a', 'a'), undefined)
  g.upsertRelay('d', '127.0.0.1:7004')
  assert.equal(g.nextHop('a', 'd'), undefined)
  assert.equal(g.nextHop('a', 'nobody'), undefined)
})

/** The RTT measured from→to, as the neighbour selection reads it, or undefined. */
const rttOf = (g: MeshGraph, from: string, to: string): number | undefined => g.measuredFrom(from).find(([peer]) => peer === to)?.[1]

test('measuredFrom and adjacency read back the links the graph holds', () => {
  const g = triangle()
  g.upsertRelay('d', '127.0.0.1:7004')
  g.updateLink('d', 'a', clean(7))
  assert.equal(rttOf(g, 'd', 'a'), 7)
  assert.equal(rttOf(g, 'a', 'd'), undefined, 'links are directed')
  g.updateLink('a', 'b', { rttMs: NaN, jitterMs: 0, loss: 1, up: false })
  assert.equal(rttOf(g, 'a', 'b'), undefined, 'no RTT measured: undefined, not NaN')
  const adj = g.adjacency()
  assert.deepEqual([...(adj.get('a') ?? [])].sort(), ['b', 'c', 'd'], 'either direction makes a peer')
  assert.deepEqual([...(adj.get('d') ?? [])], ['a'])
  assert.deepEqual(g.relayIds(), ['a', 'b', 'c', 'd'])
})

test('retainLinks drops links outside the neighbour sets, and routes move off them', () => {
  const g = triangle()
  assert.deepEqual(g.path('a', 'c'), ['a', 'c'])
  // a and c are no longer neighbours; the others are.
  const sets = new Map([['a', new Set(['b'])], ['b', new Set(['a', 'c'])], ['c', new Set(['b'])]])
  assert.equal(g.retainLinks(sets), true)
  assert.equal(rttOf(g, 'a', 'c'), undefined)
  assert.equal(rttOf(g, 'c', 'a'), undefined)
  assert.deepEqual(g.path('a', 'c'), ['a', 'b', 'c'])
  assert.equal(g.tableFor('a').get('c')?.backup, null, 'no second way round is left')
  assert.equal(g.retainLinks(sets), false, 'nothing more to drop')
  assert.equal(g.removeLink('a', 'b'), true)
  assert.equal(g.removeLink('a', 'b'), false)
  assert.deepEqual(g.path('a', 'c'), [])
  assert.equal(g.tableFor('a').has('c'), false, 'an unreachable destination is absent from the table')
})

test('a relay marked down keeps its routes: links decide, and upsertRelay marks it up again', () => {
  const g = triangle()
  g.setRelayUp('b', false)
  assert.equal(g.relay('b')?.up, false)
  assert.deepEqual(g.path('a', 'b'), ['a', 'b'])
  g.upsertRelay('b', '127.0.0.1:7102')
  assert.deepEqual(g.relay('b'), { address: '127.0.0.1:7102', up: true })
  g.setRelayUp('nobody', false)
  assert.equal(g.hasRelay('nobody'), false)
  assert.equal(g.relay('nobody'), undefined)
})

test('MeshGraph answers for its relays and links without handing out its graph', () => {
  const g = triangle()
  assert.equal(g.relayCount, 3)
  assert.equal(g.linkCount, 6)
  assert.equal(g.hasRelay('a'), true)
  assert.equal(g.hasLink('a', 'b'), true)
  assert.equal(g.hasLink('a', 'nobody'), false)
  assert.equal(g.link('a', 'nobody'), undefined)
  assert.equal(g.link('a', 'b')?.rttMs, 20)
  const seen: string[] = []
  g.forEachLink((from, to, a) => { seen.push(`${from} ${to} ${a.cost}`) })
  assert.equal(seen.length, 6)
  assert.ok(seen.includes(`a b ${g.link('a', 'b')?.cost ?? NaN}`))
  g.retainLinks(new Map([['a', new Set(['b'])], ['b', new Set(['a'])]]))
  assert.equal(g.linkCount, 2)
  assert.equal(g.hasLink('b', 'a'), true)
  assert.equal(g.hasLink('b', 'c'), false)
})

test('a measurement that changes the cost only a little moves no route and reports no change', () => {
  const g = triangle()
  assert.equal(g.updateLink('a', 'c', clean(20.5)), false)
  assert.equal(g.tableFor('a').get('c')?.cost, latencyLossPolicy.cost(clean(20)))
  assert.equal(g.updateLink('a', 'x', clean(1)), false, 'a link to an unknown relay is ignored')
  assert.equal(rttOf(g, 'a', 'x'), undefined)
})

test('neighbour selection is a full mesh up to its limit, then k nearest plus random, always symmetric', () => {
  const small = selectNeighbours(['a', 'b', 'c'], () => [])
  assert.deepEqual([...(small.get('a') ?? [])].sort(), ['b', 'c'])
  const ids = Array.from({ length: 100 }, (_, i) => `r${String(i).padStart(3, '0')}`)
  const rtt = (a: string, b: string): number => Math.abs(Number(a.slice(1)) - Number(b.slice(1)))
  const sel = selectNeighbours(ids, measuredFromPairs(ids, rtt), { fullMeshMax: 32, nearest: 4, random: 2 })
  for (const [a, set] of sel) {
    for (const b of set) assert.ok(sel.get(b)?.has(a), `${a}-${b} symmetric`)
    assert.ok(set.size >= 6 && set.size < 40, `${a} has ${set.size}`)
  }
  const near = sel.get('r050') as Set<string>
  for (const b of ['r049', 'r051', 'r048', 'r052']) assert.ok(near.has(b), b)
})

/**
 * Sixty relays on a line (RTT = distance in ids), a first neighbour draw, and `far`: one of r000's
 * random links from that draw.
 */
function lineMesh (): { ids: string[], rtt: (a: string, b: string) => number, policy: NeighbourPolicy, before: Map<string, Set<string>>, far: string } {
  const ids = Array.from({ length: 60 }, (_, i) => `r${String(i).padStart(3, '0')}`)
  const rtt = (a: string, b: string): number => Math.abs(Number(a.slice(1)) - Number(b.slice(1)))
  const policy = { fullMeshMax: 32, nearest: 4, random: 2 }
  const before = selectNeighbours(ids, measuredFromPairs(ids, rtt), policy, 1)
  const far = [...(before.get('r000') as Set<string>)].find((b) => rtt('r000', b) > 4) as string
  assert.ok(far !== undefined)
  return { ids, rtt, policy, before, far }
}

test('a neighbour refresh keeps probing a link a route still uses, but the graph drops it', () => {
  // Routes over one random link of r000 from the first draw.
  const { ids, rtt, policy, far } = lineMesh()
  let after = selectNeighbours(ids, measuredFromPairs(ids, rtt), policy, 2)
  for (let seed = 3; after.get('r000')?.has(far) === true; seed++) after = selectNeighbours(ids, measuredFromPairs(ids, rtt), policy, seed)
  const plan = planNeighbours(after, [['r000', far], ['r001', 'nobody'], ['r002', 'r002'], ['r003', 'r004']])
  assert.equal(plan.lingering, true)
  assert.ok(plan.probe.get('r000')?.has(far))
  assert.ok(plan.probe.get(far)?.has('r000'))
  assert.equal(plan.graph.get('r000')?.has(far), false)
  assert.equal(plan.probe.has('nobody'), false)
  assert.equal(plan.probe.get('r002')?.has('r002'), false)
  // Once routes left it, the next push lets it go.
  assert.equal(planNeighbours(after, [['r003', 'r004']]).lingering, false)
})

test('a neighbour refresh keeps the random links routes use and draws the others anew', () => {
  const { ids, rtt, policy, before, far } = lineMesh()
  // A seed whose own draw would drop the link.
  let seed = 2
  while (selectNeighbours(ids, measuredFromPairs(ids, rtt), policy, seed).get('r000')?.has(far) === true) seed++
  // Only the route from `far` to r000 uses the link.
  const keep = { previous: before, inUse: (a: string, b: string) => a === far && b === 'r000' }
  const after = selectNeighbours(ids, measuredFromPairs(ids, rtt), policy, seed, keep)
  assert.ok(after.get('r000')?.has(far))
  assert.ok(after.get(far)?.has('r000'))
  // Unused random links are drawn again: most of the long ones differ from the first draw.
  let kept = 0
  let long = 0
  for (const [a, set] of after) {
    for (const b of set) {
      if (a > b || rtt(a, b) <= 4) continue
      long++
      if (before.get(a)?.has(b) === true) kept++
    }
  }
  assert.ok(long > 40 && kept < long / 3, `${kept} of ${long} long links kept`)
})

test('a relay joining keeps every other relay\'s random links; only a refresh re-draws them', () => {
  const { ids, rtt, policy, before } = lineMesh()
  const joined = [...ids, 'r060']
  const measured = measuredFromPairs(ids, rtt)
  const keep = { previous: before, inUse: () => false }
  const after = selectNeighbours(joined, measured, policy, 1, { ...keep, all: true })
  for (const a of ids) {
    for (const b of before.get(a) ?? []) assert.ok(after.get(a)?.has(b), `${a}-${b} kept after a join`)
  }
  assert.ok((after.get('r060')?.size ?? 0) >= policy.nearest + policy.random, 'the newcomer gets its links')
  // A refresh with nothing in use keeps only the nearest links and draws the rest anew.
  const refreshed = selectNeighbours(joined, measured, policy, 2, keep)
  let lost = 0
  for (const a of ids) for (const b of before.get(a) ?? []) if (refreshed.get(a)?.has(b) !== true) lost++
  assert.ok(lost > 20, `a refresh re-drew ${lost} links`)
})
