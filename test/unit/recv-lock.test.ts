import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Lock } from '@matrixai/async-locks'
import type { QUICConnection } from '@matrixai/quic'
import { lightenRecvLock, RecvLock } from '../../src/transport/quic/recv-lock.js'

/** A promise and its resolver. */
function gate (): { p: Promise<void>, open: () => void } {
  let open = (): void => {}
  const p = new Promise<void>((resolve) => { open = resolve })
  return { p, open }
}

test('RecvLock runs holders one at a time, in arrival order, and survives a throw', async () => {
  const lock = new RecvLock()
  const order: string[] = []
  let inside = 0
  const g = gate()
  const hold = async (name: string, wait?: Promise<void>, fail = false): Promise<string> => await lock.withF(async () => {
    inside++
    assert.equal(inside, 1, `${name} alone inside`)
    order.push(`${name}+`)
    await wait
    order.push(`${name}-`)
    inside--
    if (fail) throw new Error(`${name} failed`)
    return name
  })
  const a = hold('a', g.p)
  const b = hold('b', undefined, true)
  const c = hold('c')
  assert.equal(lock.isLocked(), true)
  g.open()
  assert.equal(await a, 'a')
  await assert.rejects(b, /b failed/)
  assert.equal(await c, 'c')
  assert.deepEqual(order, ['a+', 'a-', 'b+', 'b-', 'c+', 'c-'])
  assert.equal(lock.isLocked(), false)
})

test('lightenRecvLock swaps a library lock, waiting for a holder of the old one', async () => {
  const old = new Lock()
  const conn = { recvLock: old } as unknown as QUICConnection
  const g = gate()
  const order: string[] = []
  const first = old.withF(async () => { order.push('old+'); await g.p; order.push('old-') })
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(lightenRecvLock(conn), true)
  const lock = (conn as unknown as { recvLock: RecvLock }).recvLock
  assert.ok(lock instanceof RecvLock)
  const second = lock.withF(async () => { order.push('new') })
  g.open()
  await Promise.all([first, second])
  assert.deepEqual(order, ['old+', 'old-', 'new'])
  // Idempotent; a connection without the field is left alone.
  assert.equal(lightenRecvLock(conn), true)
  assert.equal(lightenRecvLock({} as unknown as QUICConnection), false)
})
