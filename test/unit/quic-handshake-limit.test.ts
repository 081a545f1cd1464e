import { test } from 'node:test'
import assert from 'node:assert/strict'
import { HandshakeLimit } from '../../src/transport/quic/handshake-limit.js'

test('the default limit admits 1,000 pending handshakes from one loopback address', () => {
  const l = new HandshakeLimit()
  for (let i = 0; i < 1000; i++) assert.equal(l.tryAcquire('127.0.0.1'), undefined, `handshake ${i}`)
  assert.equal(l.snapshot().pending, 1000)
})

test('a source at its cap is refused while others are admitted, up to the total', () => {
  const l = new HandshakeLimit({ maxPending: 3, maxPendingPerSource: 2 })
  assert.equal(l.tryAcquire('10.0.0.1'), undefined)
  assert.equal(l.tryAcquire('10.0.0.1'), undefined)
  assert.equal(l.tryAcquire('10.0.0.1'), 'source')
  assert.equal(l.tryAcquire('10.0.0.2'), undefined)
  assert.equal(l.tryAcquire('10.0.0.3'), 'total')
  assert.deepEqual(l.snapshot(), { pending: 3, refusedTotal: 1, refusedSource: 1 })
  l.release('10.0.0.1')
  assert.equal(l.pendingFrom('10.0.0.1'), 1)
  assert.equal(l.tryAcquire('10.0.0.3'), undefined)
  l.release('10.0.0.9') // holds nothing: no effect
  assert.equal(l.snapshot().pending, 3)
})

test('caps that are not positive integers, or a per-source cap above the total, are refused with the option named', () => {
  assert.throws(() => new HandshakeLimit({ maxPending: 0 }), /maxPendingHandshakes must be a positive integer, got 0/)
  assert.throws(() => new HandshakeLimit({ maxPendingPerSource: 1.5 }), /maxPendingPerSource must be a positive integer/)
  assert.throws(() => new HandshakeLimit({ maxPending: 10, maxPendingPerSource: 11 }), /must not exceed maxPendingHandshakes/)
})
