import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { QUICConnection } from '@matrixai/quic'
import { startIdleKeepalive } from '../../src/transport/quic/idle-keepalive.js'
import { ManualClock } from '../helpers/manual-clock.js'

/** A connection with the two internals the keepalive calls, counting PINGs. */
function fakeConnection (): { conn: QUICConnection, pings: () => number } {
  let pings = 0
  let scheduled = false
  const conn = {
    conn: { sendAckEliciting: () => { scheduled = true } },
    send: async () => { if (scheduled) pings++; scheduled = false }
  }
  return { conn: conn as unknown as QUICConnection, pings: () => pings }
}

test('the idle keepalive pings only a connection that has sent nothing for the interval', async () => {
  const clock = new ManualClock()
  const { conn, pings } = fakeConnection()
  let lastSent = 0
  const stop = startIdleKeepalive(conn, 1_000, clock, () => lastSent)
  assert.ok(stop !== undefined)
  // Busy: a frame every 900 ms for ten seconds, no PING.
  for (let t = 900; t <= 10_000; t += 900) { clock.advance(900); lastSent = clock.monoMs() }
  await Promise.resolve()
  assert.equal(pings(), 0)
  // Silent: a PING within 5/4 of the interval of the last frame, then one per interval or so.
  const silentFrom = clock.monoMs()
  clock.advance(1_250)
  await Promise.resolve()
  assert.equal(pings(), 1)
  clock.advance(10_000 - 1_250)
  await Promise.resolve()
  const n = pings()
  assert.ok(n >= 8 && n <= 10, `${n} PINGs in ${clock.monoMs() - silentFrom} ms of silence`)
  stop?.()
  clock.advance(10_000)
  await Promise.resolve()
  assert.equal(pings(), n, 'stopped')
})

test('the idle keepalive declines a connection without the internals it needs', () => {
  assert.equal(startIdleKeepalive({} as unknown as QUICConnection, 1_000, new ManualClock(), () => 0), undefined)
})
