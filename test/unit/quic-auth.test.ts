import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { systemClock } from '../../src/clock.js'
import { ErrorCode } from '../../src/errors.js'
import { HandshakeError, runClientAuth, runServerAuth, type ClientAuth, type ServerAuth } from '../../src/transport/quic/auth.js'
import { checkAlpn } from '../../src/transport/quic/quic-config.js'
import { pipePair } from '../helpers/handshake-pipe.js'

const FP = randomBytes(32)
const DEADLINE = { timeoutMs: 5000, clock: systemClock }

/** A hook pair with a shared password and no code of its own. */
const serverAuth: ServerAuth<string> = {
  name: 'password',
  verify: async ({ io }) => {
    const m = await io.read() as { password?: unknown }
    if (m.password === 'crash') throw new Error('bug in the hook')
    if (m.password !== 'open sesame') throw new HandshakeError('rejected', 'wrong password', { reason: 'wrong password' })
    await io.send({ type: 'ok' })
    return 'guest'
  }
}
function clientAuth (password: string, extra: Partial<ClientAuth> = {}): ClientAuth {
  return {
    name: 'password',
    prove: async ({ io }) => {
      await io.send({ password })
      const m = await io.read() as { type?: unknown }
      if (m.type !== 'ok') throw new HandshakeError('rejected', 'server did not say ok')
    },
    ...extra
  }
}

test('a server hook resolves with what it learned of the client', async () => {
  const [c, s] = pipePair()
  const [peer] = await Promise.all([
    runServerAuth(serverAuth, { io: s, fingerprint: FP, peer: 'client' }, DEADLINE),
    runClientAuth(clientAuth('open sesame'), { io: c, fingerprint: FP, peer: 'server' }, DEADLINE)
  ])
  assert.equal(peer, 'guest')
})

test('a refusal reaches the client as RM_ERR_AUTH with the server\'s reason, unless the hook names its own code and fix', async () => {
  for (const [extra, code, message] of [
    [{}, ErrorCode.AUTH, 'server S refused the password handshake (wrong password)'],
    [{ code: ErrorCode.MESH_KEY, fix: 'ask the admin' }, ErrorCode.MESH_KEY, 'server S refused the password handshake (wrong password); ask the admin']
  ] as const) {
    const [c, s, seen] = pipePair()
    const [sr, cr] = await Promise.allSettled([
      runServerAuth(serverAuth, { io: s, fingerprint: FP, peer: 'client' }, DEADLINE),
      runClientAuth(clientAuth('guess', extra), { io: c, fingerprint: FP, peer: 'server S' }, DEADLINE)
    ])
    assert.equal(((sr as PromiseRejectedResult).reason as HandshakeError).failure, 'rejected')
    assert.deepEqual(seen.at(-1), { type: 'refuse', reason: 'wrong password' })
    const err = (cr as PromiseRejectedResult).reason as HandshakeError
    assert.equal(err.failure, 'refused')
    assert.equal(err.code, code)
    assert.equal(err.message, message)
  }
})

test('a hook that throws a plain error fails as a protocol error, and the client is told so', async () => {
  const [c, s] = pipePair()
  const [sr, cr] = await Promise.allSettled([
    runServerAuth(serverAuth, { io: s, fingerprint: FP, peer: 'client' }, DEADLINE),
    runClientAuth(clientAuth('crash'), { io: c, fingerprint: FP, peer: 'server' }, DEADLINE)
  ])
  const se = (sr as PromiseRejectedResult).reason as HandshakeError
  assert.equal(se.failure, 'protocol')
  assert.equal(se.code, ErrorCode.SOCKET)
  assert.equal(se.retryable, false)
  assert.match(((cr as PromiseRejectedResult).reason as HandshakeError).message, /refused the password handshake \(handshake protocol error\)/)
})

test('a client hook\'s own verdict on the server carries the hook\'s code', async () => {
  const [c, s] = pipePair()
  const impostor = (async () => { await s.read(); await s.send({ type: 'whatever' }) })()
  await assert.rejects(runClientAuth(clientAuth('x', { code: ErrorCode.MESH_KEY }), { io: c, fingerprint: FP, peer: 'server' }, DEADLINE), (err: unknown) => {
    return err instanceof HandshakeError && err.failure === 'rejected' && err.code === ErrorCode.MESH_KEY && !err.retryable
  })
  await impostor
})

test('an ALPN must be 1-255 printable ASCII characters', () => {
  assert.equal(checkAlpn('relaymesh-control/1'), 'relaymesh-control/1')
  for (const bad of ['', 'has space', 'x'.repeat(256), 'ünï', undefined]) {
    assert.throws(() => checkAlpn(bad), (err: unknown) => err instanceof TypeError && /alpn must be/.test(err.message), String(bad))
  }
})
