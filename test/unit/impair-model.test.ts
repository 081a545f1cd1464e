import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ImpairmentModel } from '../../src/transport/impair/model.js'
import { parseImpairUpdate } from '../../src/transport/impair/params-schema.js'

test('Bernoulli loss drops close to the configured fraction and counts each drop', () => {
  const m = new ImpairmentModel({ loss: 0.2 }, 42)
  let dropped = 0
  for (let i = 0; i < 100_000; i++) if (m.decide(i) < 0) dropped++
  assert.ok(Math.abs(dropped / 100_000 - 0.2) < 0.01)
  assert.equal(m.stats.dropped.loss, dropped)
  assert.equal(m.stats.offered, 100_000)
})

test('the same seed gives the same decisions', () => {
  const a = new ImpairmentModel({ loss: 0.3, jitterMs: 5, delayMs: 10 }, 9)
  const b = new ImpairmentModel({ loss: 0.3, jitterMs: 5, delayMs: 10 }, 9)
  for (let i = 0; i < 1000; i++) assert.equal(a.decide(i), b.decide(i))
})

test('Gilbert-Elliott loss comes in bursts with the expected mean length', () => {
  const m = new ImpairmentModel({ burst: { pGoodToBad: 0.01, pBadToGood: 0.25, lossGood: 0, lossBad: 1 } }, 3)
  let bursts = 0; let lost = 0; let prev = false
  for (let i = 0; i < 200_000; i++) {
    const d = m.decide(i) < 0
    if (d) { lost++; if (!prev) bursts++ }
    prev = d
  }
  const meanBurst = lost / bursts
  assert.ok(Math.abs(meanBurst - 4) < 0.4, `mean burst ${meanBurst}`)
  // Stationary loss = pGB / (pGB + pBG) = 0.0385.
  assert.ok(Math.abs(lost / 200_000 - 0.0385) < 0.006)
})

test('delay with jitter never reorders unless asked', () => {
  const m = new ImpairmentModel({ delayMs: 20, jitterMs: 5 }, 1)
  let last = 0
  for (let t = 0; t < 1000; t++) {
    const at = m.decide(t)
    assert.ok(at >= last)
    assert.ok(at >= t + 15 - 1e-9 && at <= Math.max(t + 25, last) + 1e-9)
    last = at
  }
  const r = new ImpairmentModel({ delayMs: 20, jitterMs: 5, reorder: true }, 1)
  let reordered = 0; last = 0
  for (let t = 0; t < 1000; t++) { const at = r.decide(t); if (at < last) reordered++; last = at }
  assert.ok(reordered > 0)
})

test('the rate limiter spaces packets and drops what overflows its queue', () => {
  const m = new ImpairmentModel({ ratePps: 1000, queueLimit: 10 }, 1)
  const times: number[] = []
  for (let i = 0; i < 20; i++) times.push(m.decide(0))
  assert.deepEqual(times.slice(0, 10), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  assert.ok(times.slice(10).every((t) => t === -1))
  assert.equal(m.stats.dropped.queue, 10)
})

test('an outage drops new packets and those already in flight', () => {
  const m = new ImpairmentModel({ delayMs: 10 }, 1)
  assert.equal(m.decide(0), 10)
  m.set({ outage: true })
  assert.equal(m.release(), false)
  assert.equal(m.decide(1), -1)
  assert.equal(m.stats.dropped.outage, 2)
  m.set({ outage: false })
  assert.equal(m.decide(2), 12)
})

test('parameter updates are validated with a message naming the bad key', () => {
  assert.deepEqual(parseImpairUpdate({ loss: 0.5, outage: true }), { loss: 0.5, outage: true })
  assert.throws(() => parseImpairUpdate({ loss: 2 }), /loss/)
  assert.throws(() => parseImpairUpdate({ los: 0.1 }), /los|Unrecognized/)
})
