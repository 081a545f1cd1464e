import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { systemClock } from '../../src/clock.js'
import { ErrorCode, RelaymeshError } from '../../src/errors.js'
import { silentLogger } from '../../src/logging.js'
import type { RelaySetChange } from '../../src/mesh/types.js'
import { MAX_SEALED_PAYLOAD, Service } from '../../src/wire/constants.js'
import { Reason } from '../../src/wire/reasons.js'
import { relayNumber } from '../../src/wire/relay-id.js'
import { Relay } from '../../relay/relay.js'
import { validateStaticMesh } from '../../relay/static-mesh.js'

// The relay's side of the mesh service interface, on relays that are built but never started: a
// send to the relay itself goes through the data plane's originate and deliver paths, no socket.

const listen = { host: '127.0.0.1', port: 0, family: 4 as const }
const meshKey = randomBytes(32)

function staticRelay (id: string): Relay {
  const staticMesh = validateStaticMesh({
    relays: [{ id: 'a', address: '127.0.0.1:7001' }, { id: 'b', address: '127.0.0.1:7002' }, { id: 'c', address: '127.0.0.1:7003' }],
    links: [['a', 'b'], ['b', 'c']]
  })
  return new Relay({ clock: systemClock, logger: silentLogger() }, { id, listen, meshKey, staticMesh })
}

test('a relay delivers a gather send to itself as one payload, with source, epoch, flow and class', async () => {
  const r = staticRelay('a')
  try {
    const got: Array<{ src: number, epoch: number, flow: number, class: number, payload: string }> = []
    r.mesh.register(Service.USER_MIN, (d) => { got.push({ src: d.src, epoch: d.epoch, flow: d.flow, class: d.class, payload: d.payload.toString() }) })
    const opts = { class: 3 }
    assert.equal(r.mesh.send(r.mesh.self.number, Service.USER_MIN, 77, [Buffer.from('head:'), Buffer.from('body')], opts), Reason.OK)
    assert.equal(got.length, 1)
    assert.equal(got[0].src, relayNumber('a'))
    assert.equal(got[0].epoch, r.plane.boot, 'the epoch is the source boot id')
    assert.deepEqual({ ...got[0], epoch: 0 }, { src: relayNumber('a'), epoch: 0, flow: 77, class: 3, payload: 'head:body' })
    assert.equal(r.mesh.self.id, 'a')
    assert.equal(r.mesh.maxPayload, MAX_SEALED_PAYLOAD)
  } finally {
    await r.stop()
  }
})

test('a relay refuses redundant sends with RM_ERR_UNSUPPORTED and preEncrypted for its own services, and counts too_big and no_route', async () => {
  const r = staticRelay('a')
  try {
    assert.throws(() => r.mesh.send(relayNumber('c'), Service.USER_MIN, 1, Buffer.from('x'), { class: 0, redundant: true }),
      (err: unknown) => err instanceof RelaymeshError && err.code === ErrorCode.UNSUPPORTED && err.message.includes('redundant'))
    assert.throws(() => r.mesh.send(relayNumber('c'), Service.TUNNEL, 1, Buffer.from('x'), { class: 0, preEncrypted: true }), TypeError)
    assert.throws(() => r.mesh.send(relayNumber('c'), 0xffff, 1, Buffer.from('x'), { class: 0 }), TypeError)
    assert.throws(() => r.mesh.send(relayNumber('c'), Service.USER_MIN, 1, Buffer.from('x'), { class: 256 }), TypeError)
    assert.equal(r.mesh.send(relayNumber('c'), Service.USER_MIN, 1, Buffer.alloc(MAX_SEALED_PAYLOAD + 1), { class: 0 }), Reason.TOO_BIG)
    assert.equal(r.plane.counters.dropped[Reason.TOO_BIG], 1)
    assert.equal(r.plane.counters.originated, 0, 'nothing was originated for a refused send')
    assert.equal(r.mesh.send(relayNumber('nowhere'), Service.USER_MIN, 1, Buffer.from('x'), { class: 0 }), Reason.NO_ROUTE)
    assert.equal(r.plane.counters.dropped[Reason.NO_ROUTE], 1)
  } finally {
    await r.stop()
  }
})

test('a service that unregisters gets nothing more; its packets count as unknown_service', async () => {
  const r = staticRelay('a')
  try {
    let n = 0
    const off = r.mesh.register(Service.USER_MIN, () => { n++ })
    assert.throws(() => r.mesh.register(Service.USER_MIN, () => {}), TypeError)
    r.mesh.send(r.mesh.self.number, Service.USER_MIN, 1, Buffer.from('x'), { class: 0 })
    off()
    off()
    r.mesh.send(r.mesh.self.number, Service.USER_MIN, 1, Buffer.from('x'), { class: 0 })
    assert.equal(n, 1)
    assert.equal(r.plane.counters.dropped[Reason.UNKNOWN_SERVICE], 1)
  } finally {
    await r.stop()
  }
})

test('a static relay\'s live relay set is the mesh file\'s relays', async () => {
  const r = staticRelay('b')
  try {
    assert.deepEqual(r.mesh.relays.list().map((x) => x.id), ['a', 'b', 'c'])
    assert.equal(r.mesh.relays.get(relayNumber('c'))?.id, 'c')
    assert.ok(r.mesh.relays.version > 0)
  } finally {
    await r.stop()
  }
})

test('a controller-mode relay\'s live relay set follows its tables, with one version and one event per change', async () => {
  const r = new Relay({ clock: systemClock, logger: silentLogger() }, { id: 'a', listen, meshKey, controllers: [{ host: '127.0.0.1', port: 1, family: 4 }] })
  try {
    assert.deepEqual(r.mesh.relays.list().map((x) => x.id), ['a'], 'before any table, only the relay itself')
    const v0 = r.mesh.relays.version
    const changes: RelaySetChange[] = []
    r.mesh.relays.onChange((c) => { changes.push(c) })
    r.forwarding.setNeighbours([{ id: 'b', address: '127.0.0.1:7002' }])
    r.forwarding.update({ b: { next_hop: 'b', backup: null }, c: { next_hop: 'b', backup: null } }, [], 1)
    assert.deepEqual(r.mesh.relays.list().map((x) => x.id), ['a', 'b', 'c'])
    r.forwarding.linkDown('b')
    r.forwarding.update({}, ['c'], 2)
    assert.deepEqual(r.mesh.relays.list().map((x) => x.id), ['a', 'b'])
    assert.deepEqual(changes.map((c) => [c.version, c.added.map((x) => x.id), c.removed.map((x) => x.id)]), [
      [v0 + 1, ['b', 'c'], []],
      [v0 + 2, [], ['c']]
    ], 'neighbours and a link going down change routes, not the set')
  } finally {
    await r.stop()
  }
})
