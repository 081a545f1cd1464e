import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ReportPolicy, buildReport } from '../../prober/reporter.js'
import { PacketHeader, Reason, relayNumber } from '../../src/wire/index.js'
import { proberPair, type ProberPair } from '../helpers/prober-pair.js'

/** Two probers joined by an in-memory link with a fixed one-way delay, on a manual clock. */
function pair (oneWayMs: number): ProberPair & { cut: (v: boolean) => void } {
  let cut = false
  return { ...proberPair({ delayMs: () => oneWayMs, cut: () => cut }), cut: (v) => { cut = v } }
}

test('two probers bring their link up and measure the round trip', () => {
  const { clock, a, b } = pair(15)
  const ups: string[] = []
  a.events.on('linkup', (peer) => ups.push(peer))
  a.start(); b.start()
  clock.advance(5000)
  assert.deepEqual(ups, ['b'])
  const s = a.status()[0]
  assert.equal(s.state, 'up')
  assert.ok(Math.abs(s.rttMs - 30) < 0.5, String(s.rttMs))
  assert.equal(s.loss, 0)
  assert.ok(a.isUp(relayNumber('b')))
})

test('a cut link emits linkdown, and a listener that throws does not break the prober', () => {
  const { clock, a, b, cut } = pair(5)
  const downs: string[] = []
  let downAt = 0
  a.events.on('linkdown', () => { throw new Error('listener bug') })
  a.events.on('linkdown', (peer) => { downs.push(peer); downAt = clock.now })
  a.start(); b.start()
  clock.advance(3000)
  cut(true)
  const t0 = clock.now
  clock.advance(2000)
  assert.deepEqual(downs, ['b'])
  assert.equal(a.status()[0].state, 'down')
  // Budget: 3 probe intervals + RTT + 50 ms.
  assert.ok(downAt - t0 <= 3 * 200 + 10 + 50, `down after ${downAt - t0} ms`)
})

test('probes from a relay that is not a neighbour are dropped and counted', () => {
  const { a, drops } = pair(5)
  const h = new PacketHeader()
  h.src = relayNumber('stranger'); h.type = 2; h.payloadLength = 8
  a.handle(h, Buffer.alloc(100), '127.0.0.1', 1)
  assert.deepEqual(drops, [Reason.UNKNOWN_SERVICE])
})

test('reports go out on schedule and at once on a state change or loss threshold crossing', () => {
  const p = new ReportPolicy({ intervalMs: 1000 })
  const link = (state: 'up' | 'down', lossShort: number) => [{ peer: 'b', state, rttMs: 20, jitterMs: 1, loss: lossShort, lossShort, lossReverse: 0, samples: 5 }]
  assert.equal(p.due(0, link('up', 0)), 'schedule')
  p.sent(0, link('up', 0))
  assert.equal(p.due(500, link('up', 0.001)), undefined)
  assert.equal(p.due(500, link('up', 0.06)), 'threshold')
  assert.equal(p.due(500, link('down', 0)), 'state')
  assert.equal(p.due(1000, link('up', 0)), 'schedule')
  const r = buildReport('a', 1, 'state', link('down', 1))
  assert.deepEqual(r.links[0], { peer: 'b', up: false, rtt_ms: 20, jitter_ms: 1, loss: 1, loss_short: 1, samples: 5 })
})

test('a report carries the highest short-window loss seen since the previous one', () => {
  const p = new ReportPolicy({ intervalMs: 1000 })
  const link = (lossShort: number) => [{ peer: 'b', state: 'up' as const, rttMs: 20, jitterMs: 1, loss: 0, lossShort, lossReverse: 0, samples: 5 }]
  p.sent(0, link(0.2))
  // 0.28 stays in the 20–30% bucket, so nothing goes out at once; by the schedule it dipped to 0.22.
  assert.equal(p.due(300, link(0.28)), undefined)
  assert.equal(p.due(1000, link(0.22)), 'schedule')
  assert.equal(buildReport('a', 2, 'schedule', link(0.22), p).links[0].loss_short, 0.28)
  p.sent(1000, link(0.22))
  assert.equal(buildReport('a', 3, 'schedule', link(0.21), p).links[0].loss_short, 0.21)
})
