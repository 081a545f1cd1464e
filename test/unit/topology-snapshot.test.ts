import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MeshGraph } from '../../topology/mesh-graph.js'
import { parseSnapshot, snapshotOf } from '../../topology/snapshot.js'
import { fiveRelays } from '../helpers/topology-fixture.js'

test('a snapshot lists relays sorted by id, with address and state', () => {
  const s = snapshotOf(fiveRelays('shuffled'), 7)
  assert.equal(s.version, 7)
  assert.deepEqual(s.relays.map((r) => r.id), ['a', 'b', 'c', 'd', 'e'])
  assert.deepEqual(s.relays[0], { id: 'a', address: '127.0.0.1:7001', up: true })
  assert.equal(s.relays[4].up, false)
})

test('a snapshot lists links sorted by from then to, with unknown figures and unusable costs as null', () => {
  const s = snapshotOf(fiveRelays('shuffled'), 1)
  assert.deepEqual(s.links.map((l) => `${l.from}>${l.to}`), ['a>b', 'a>c', 'b>a', 'b>c', 'c>a', 'c>b', 'c>d', 'd>c', 'd>e', 'e>d'])
  assert.deepEqual(s.links[0], { from: 'a', to: 'b', rtt_ms: 10, jitter_ms: 0, loss: 0, cost: 6, up: true })
  assert.deepEqual(s.links.find((l) => l.from === 'd' && l.to === 'e'),
    { from: 'd', to: 'e', rtt_ms: null, jitter_ms: null, loss: 1, cost: null, up: false })
  const ed = s.links.find((l) => l.from === 'e')
  assert.equal(ed?.rtt_ms, 10.123, 'figures are rounded to the microsecond')
  assert.equal(ed?.loss, 0.02)
})

test('routes give next hop, backup, path and cost for every reachable pair and omit the rest', () => {
  const s = snapshotOf(fiveRelays(), 1)
  assert.deepEqual(s.routes.a.c, { next_hop: 'b', backup: 'c', path: ['a', 'b', 'c'], cost: 12 })
  assert.deepEqual(s.routes.a.d, { next_hop: 'b', backup: 'c', path: ['a', 'b', 'c', 'd'], cost: 18 })
  assert.equal(s.routes.a.b.next_hop, 'b')
  assert.deepEqual(s.routes.e.a.path, ['e', 'd', 'c', 'b', 'a'])
  assert.equal(s.routes.e.a.backup, null, 'e has one neighbour, so no alternate')
  for (const src of ['a', 'b', 'c', 'd']) {
    assert.equal(Object.hasOwn(s.routes[src], 'e'), false, `${src} cannot reach e over a down link`)
    assert.equal(Object.hasOwn(s.routes[src], src), false, 'no route to oneself')
  }
  assert.deepEqual(Object.keys(s.routes), ['a', 'b', 'c', 'd', 'e'])
})

test('route costs and next hops agree with the graph\'s own tables', () => {
  const g = fiveRelays()
  const s = snapshotOf(g, 1)
  for (const src of g.relayIds()) {
    const table = g.tableFor(src)
    assert.deepEqual(Object.keys(s.routes[src]), [...table.keys()])
    for (const [dst, e] of table) {
      assert.equal(s.routes[src][dst].next_hop, e.nextHop)
      assert.equal(s.routes[src][dst].path[1], e.nextHop)
      assert.ok(Math.abs(s.routes[src][dst].cost - e.cost) < 1e-3)
    }
  }
})

test('snapshots do not depend on the order relays and links were added', () => {
  assert.deepEqual(JSON.stringify(snapshotOf(fiveRelays('shuffled'), 3)), JSON.stringify(snapshotOf(fiveRelays(), 3)))
})

test('routes: false leaves routes empty but keeps relays and links', () => {
  const s = snapshotOf(fiveRelays(), 2, { routes: false })
  assert.deepEqual(s.routes, {})
  assert.equal(s.relays.length, 5)
  assert.equal(s.links.length, 10)
})

test('a snapshot survives a JSON round trip and parseSnapshot accepts it', () => {
  const s = snapshotOf(fiveRelays(), 9)
  const back = parseSnapshot(JSON.parse(JSON.stringify(s)))
  assert.deepEqual(back, JSON.parse(JSON.stringify(s)))
})

test('parseSnapshot names the first field at fault', () => {
  assert.throws(() => parseSnapshot({ version: 1, relays: [], links: [{ from: 'a' }], routes: {} }), /links\.0\.to/)
  assert.throws(() => parseSnapshot({ error: 'not found' }), TypeError)
})

test('an empty graph gives an empty snapshot', () => {
  assert.deepEqual(snapshotOf(new MeshGraph(), 0), { version: 0, relays: [], links: [], routes: {} })
})
