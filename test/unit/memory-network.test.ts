import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCode, RelaymeshError } from '../../src/errors.js'
import { MemoryNetwork, type MemoryMesh, type MemoryNetworkInit } from '../../src/mesh/memory-network.js'
import type { RelaySetChange } from '../../src/mesh/types.js'
import { Service } from '../../src/wire/constants.js'
import { Reason } from '../../src/wire/reasons.js'
import { ManualClock } from '../helpers/manual-clock.js'

const SVC = Service.USER_MIN
const opts = { class: 0 }

function network (init: MemoryNetworkInit = {}): { clock: ManualClock, net: MemoryNetwork, a: MemoryMesh, b: MemoryMesh, got: string[] } {
  const clock = new ManualClock()
  const net = new MemoryNetwork({ clock }, init)
  const a = net.add('a')
  const b = net.add('b')
  const got: string[] = []
  b.register(SVC, (d) => { got.push(d.payload.toString()) })
  return { clock, net, a, b, got }
}

test('the memory network delivers after the link\'s delay, a copy of what was sent', () => {
  const { clock, net, a, b, got } = network({ delayMs: 10 })
  net.setLink('a', 'b', { delayMs: 20 })
  const payload = Buffer.from('hello')
  assert.equal(a.send(b.self.number, SVC, 1, payload, opts), Reason.OK)
  payload.write('HELLO')
  clock.advance(19)
  assert.deepEqual(got, [])
  clock.advance(1)
  assert.deepEqual(got, ['hello'], 'the sender may reuse its buffer at once')
  assert.deepEqual(net.counts('a', 'b'), { sent: 1, lost: 0, delivered: 1 })
})

test('seeded loss repeats exactly, at about the asked rate', () => {
  const run = (seed: number): string => {
    const { clock, a, b, got } = network({ seed, loss: 0.25 })
    for (let i = 0; i < 1000; i++) a.send(b.self.number, SVC, i, Buffer.from(String(i)), opts)
    clock.advance(1)
    return got.join(',')
  }
  const first = run(7)
  assert.equal(run(7), first)
  assert.notEqual(run(8), first)
  const n = first.split(',').length
  assert.ok(n > 700 && n < 800, `${n} of 1000 delivered at 25% loss`)
})

test('live relay sets follow relays joining and leaving, one version and one event per change', () => {
  const { clock, net, a, b, got } = network({ delayMs: 5 })
  const changes: RelaySetChange[] = []
  a.relays.onChange((c) => { changes.push(c) })
  assert.deepEqual(a.relays.list().map((r) => r.id), ['a', 'b'])
  const v = a.relays.version
  net.add('c')
  a.send(b.self.number, SVC, 1, Buffer.from('in flight'), opts)
  net.remove('b')
  assert.deepEqual(a.relays.list().map((r) => r.id), ['a', 'c'])
  assert.deepEqual(changes.map((c) => [c.version, c.added.map((r) => r.id), c.removed.map((r) => r.id)]), [[v + 1, ['c'], []], [v + 2, [], ['b']]])
  clock.advance(5)
  assert.deepEqual(got, [], 'a relay that left gets nothing that was on its way')
  assert.equal(a.send(b.self.number, SVC, 1, Buffer.from('x'), opts), Reason.NO_ROUTE)
  assert.equal(a.dropped[Reason.NO_ROUTE], 1)
})

test('a memory relay refuses what a real one refuses: unsupported options, bad services, too big, no handler', () => {
  const { clock, a, b } = network({ maxPayload: 100 })
  assert.throws(() => a.send(b.self.number, SVC, 1, Buffer.from('x'), { class: 0, redundant: true }), (err: unknown) => err instanceof RelaymeshError && err.code === ErrorCode.UNSUPPORTED)
  assert.throws(() => a.send(b.self.number, Service.TUNNEL, 1, Buffer.from('x'), { class: 0, preEncrypted: true }), TypeError)
  assert.throws(() => a.register(0, () => {}), TypeError)
  assert.throws(() => b.register(SVC, () => {}), TypeError, 'one handler per service')
  assert.equal(a.send(b.self.number, SVC, 1, [Buffer.alloc(60), Buffer.alloc(41)], opts), Reason.TOO_BIG)
  assert.equal(a.dropped[Reason.TOO_BIG], 1)
  a.send(b.self.number, SVC + 1, 1, Buffer.from('x'), opts)
  clock.advance(1)
  assert.equal(b.dropped[Reason.UNKNOWN_SERVICE], 1)
})
