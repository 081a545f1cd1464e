import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createLogger } from '../../src/logging.js'
import { relayNumber } from '../../src/wire/relay-id.js'
import { ForwardingTable } from '../../relay/forwarding-table.js'
import type { Route } from '../../relay/types.js'

const log = createLogger({ level: 'silent', pretty: false })

function table (): { t: ForwardingTable, routes: () => Map<number, Route> } {
  let last: Route[] = []
  const t = new ForwardingTable({ logger: log }, (r) => { last = r })
  t.setNeighbours([{ id: 'b', address: '127.0.0.1:7002' }, { id: 'c', address: '127.0.0.1:7003' }, { id: 'd', address: '[::1]:7004' }])
  t.update({ e: { next_hop: 'b', backup: 'c' }, f: { next_hop: 'b', backup: null }, c: { next_hop: 'c', backup: null } }, [], 3)
  return { t, routes: () => new Map(last.map((r) => [r.dst, r])) }
}

test('routes carry the next hop and backup addresses by relay number', () => {
  const { t, routes } = table()
  const e = routes().get(relayNumber('e'))
  assert.deepEqual(e?.nextHop, { id: 'b', number: relayNumber('b'), host: '127.0.0.1', port: 7002 })
  assert.equal(e?.backup?.id, 'c')
  assert.equal(t.version, 3)
})

test('a link going down switches its routes to their backups at once, and back when it returns', () => {
  const { t, routes } = table()
  t.linkDown('b')
  assert.equal(routes().get(relayNumber('e'))?.nextHop.id, 'c')
  assert.equal(routes().get(relayNumber('f'))?.nextHop.id, 'b', 'no backup: the route stays rather than vanish')
  assert.equal(t.rerouted, 1)
  t.linkUp('b')
  assert.equal(routes().get(relayNumber('e'))?.nextHop.id, 'b')
  assert.equal(t.rerouted, 0)
})

test('a backup whose own link is down is not used', () => {
  const { t, routes } = table()
  t.linkDown('c')
  t.linkDown('b')
  assert.equal(routes().get(relayNumber('e'))?.nextHop.id, 'b')
})

test('entries whose next hop is not a neighbour are skipped and counted', () => {
  const { t, routes } = table()
  t.update({ g: { next_hop: 'zz', backup: null } }, ['f'], 4)
  assert.equal(routes().has(relayNumber('g')), false)
  assert.equal(routes().has(relayNumber('f')), false)
  assert.equal(t.unresolved, 1)
  assert.equal(t.version, 4)
})

test('idOf names a destination or neighbour by its relay number, and forgets one no longer held', () => {
  const { t } = table()
  assert.equal(t.idOf(relayNumber('e')), 'e')
  assert.equal(t.idOf(relayNumber('d')), 'd', 'a neighbour with no route to it')
  assert.equal(t.idOf(relayNumber('nobody')), undefined)
  t.update({}, ['e'], 4)
  assert.equal(t.idOf(relayNumber('e')), undefined)
})
