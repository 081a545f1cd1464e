import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError } from '../../src/errors.js'
import { relayNumber } from '../../src/wire/index.js'
import { staticRoutes, validateStaticMesh } from '../../relay/static-mesh.js'
import { MeshGraph } from '../../topology/mesh-graph.js'
import { Prng } from '../../src/prng.js'

const relays = (ids: string[]): Array<{ id: string, address: string }> => ids.map((id, i) => ({ id, address: `127.0.0.1:${7001 + i}` }))

function rejects (doc: unknown, pattern: RegExp): void {
  assert.throws(() => validateStaticMesh(doc), (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err))
    assert.match(err.message, pattern)
    assert.ok(!err.message.includes('\n'), 'one line')
    return true
  })
}

test('a chain routes each destination through the neighbour toward it', () => {
  const mesh = validateStaticMesh({ relays: relays(['a', 'b', 'c']), links: [['a', 'b'], ['b', 'c']] })
  const routes = staticRoutes(mesh, 'a')
  assert.deepEqual(routes.map((r) => [r.dst, r.nextHop.id]), [[relayNumber('b'), 'b'], [relayNumber('c'), 'b']])
  assert.equal(routes[0].nextHop.port, 7002)
  const fromB = staticRoutes(mesh, 'b')
  assert.deepEqual(fromB.map((r) => r.nextHop.id), ['a', 'c'])
})

test('equal-hop paths break ties by the smallest neighbour id and keep the other as backup', () => {
  // a joins d through both c and b: two 2-hop paths.
  const mesh = validateStaticMesh({ relays: relays(['a', 'b', 'c', 'd']), links: [['a', 'c'], ['c', 'd'], ['a', 'b'], ['b', 'd']] })
  const toD = staticRoutes(mesh, 'a').find((r) => r.dst === relayNumber('d'))
  assert.equal(toD?.nextHop.id, 'b')
  assert.equal(toD?.backup?.id, 'c')
})

test('fewest hops wins over ids', () => {
  const mesh = validateStaticMesh({ relays: relays(['a', 'b', 'c', 'z']), links: [['a', 'b'], ['b', 'c'], ['a', 'z'], ['z', 'c'], ['a', 'c']] })
  assert.equal(staticRoutes(mesh, 'a').find((r) => r.dst === relayNumber('c'))?.nextHop.id, 'c')
})

test('unreachable relays get no route', () => {
  const mesh = validateStaticMesh({ relays: relays(['a', 'b', 'c']), links: [['a', 'b']] })
  assert.deepEqual(staticRoutes(mesh, 'a').map((r) => r.nextHop.id), ['b'])
})

test('routes computed by every relay from one file never loop', () => {
  const ids = ['a', 'b', 'c', 'd', 'e', 'f']
  const links: Array<[string, string]> = [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'e'], ['e', 'f'], ['f', 'a'], ['a', 'd'], ['b', 'e']]
  const mesh = validateStaticMesh({ relays: relays(ids), links })
  const tables = new Map(ids.map((id) => [id, new Map(staticRoutes(mesh, id).map((r) => [r.dst, r.nextHop.id]))]))
  for (const src of ids) {
    for (const dst of ids) {
      if (src === dst) continue
      let at = src; let hops = 0
      while (at !== dst) {
        at = tables.get(at)?.get(relayNumber(dst)) as string
        assert.ok(at !== undefined && ++hops <= ids.length, `${src}→${dst} loops or dead-ends`)
      }
    }
  }
})

test('static routes are the ones MeshGraph computes with the hops cost policy: next hops, then backups', () => {
  const rng = new Prng(11)
  for (let round = 0; round < 40; round++) {
    const ids = Array.from({ length: 3 + Math.floor(rng.next() * 10) }, (_, i) => `r${String(i).padStart(2, '0')}`)
    const links: Array<[string, string]> = []
    for (let i = 0; i < ids.length; i++) for (let j = i + 1; j < ids.length; j++) if (rng.next() < 0.3) links.push([ids[i], ids[j]])
    const mesh = validateStaticMesh({ relays: relays(ids), links })
    const g = new MeshGraph('hops')
    for (const id of ids) g.upsertRelay(id, mesh.relays.get(id)?.port.toString() ?? '')
    for (const [a, b] of links) { for (const [x, y] of [[a, b], [b, a]]) g.updateLink(x, y, { rttMs: 1, jitterMs: 0, loss: 0, up: true }) }
    const byNumber = new Map(ids.map((id) => [relayNumber(id), id]))
    for (const self of ids) {
      const got = staticRoutes(mesh, self).map((r) => [byNumber.get(r.dst), r.nextHop.id, r.backup?.id ?? null])
      const want = [...g.tableFor(self)].map(([d, e]) => [d, e.nextHop, e.backup])
      assert.deepEqual(got.map((r) => r.slice(0, 2)), want.map((r) => r.slice(0, 2)), `round ${round}: next hops of ${self}`)
      assert.deepEqual(got, want, `round ${round}: backups of ${self}`)
    }
  }
})

test('a bad file gets a one-line error naming the entry at fault', () => {
  rejects({ relays: relays(['a', 'b']), links: [['a', 'x']] }, /links\[0\] names unknown relay 'x'/)
  rejects({ relays: [{ id: 'a', address: '127.0.0.1:7001' }, { id: 'b', address: '127.0.0.1:7001' }] }, /relays\[1\]: 'b' and 'a' share address 127\.0\.0\.1:7001/)
  rejects({ relays: [{ id: 'a', address: '127.0.0.1:7001' }, { id: 'a', address: '127.0.0.1:7002' }] }, /relays\[1\]: id 'a' appears twice/)
  rejects({ relays: [{ id: 'a', address: 'localhost:7001' }] }, /relays\[0\] \('a'\) address 'localhost:7001'/)
  rejects({ relays: [{ id: 'bad id', address: '127.0.0.1:7001' }] }, /'bad id' is invalid/)
  rejects({ relays: relays(['a']), links: [['a', 'a']] }, /links\[0\] joins 'a' to itself/)
  rejects({ relays: [] }, /relays/)
  rejects({ links: [] }, /relays/)
  rejects({ relays: [{ id: 7, address: '127.0.0.1:7001' }] }, /relays\.0\.id: expected a string/)
  rejects({ relays: relays(['a', 'b']), links: [['a']] }, /links\.0: expected a pair of relay ids/)
  rejects([], /\(top level\)/)
  rejects({ relays: relays(['a']), links: [['a']] }, /links\.0/)
})

test('staticRoutes refuses a relay that is not in the file', () => {
  const mesh = validateStaticMesh({ relays: relays(['a']) })
  assert.throws(() => staticRoutes(mesh, 'q'), /relay id 'q' is not in the static mesh file/)
})
