import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { deriveAuthKey, meshKeyClientAuth, meshKeyServerAuth, proofMac } from '../../src/control/mesh-key-auth.js'
import { HandshakeError, runClientAuth, runServerAuth, type HandshakeIo } from '../../src/transport/quic/auth.js'
import { systemClock, type Clock } from '../../src/clock.js'
import { ErrorCode } from '../../src/errors.js'
import { pipePair } from '../helpers/handshake-pipe.js'
import { ManualClock } from '../helpers/manual-clock.js'

const FP = randomBytes(32)

/** The mesh-key hook's halves, run as the QUIC transport runs them. */
interface Run { meshKey: Buffer, fingerprint: Buffer, timeoutMs: number, clock?: Clock, peer?: string }
async function clientHandshake (io: HandshakeIo, r: Run): Promise<void> {
  await runClientAuth(meshKeyClientAuth(r.meshKey), { io, fingerprint: r.fingerprint, peer: r.peer ?? 'server' }, { timeoutMs: r.timeoutMs, clock: r.clock ?? systemClock })
}
async function serverHandshake (io: HandshakeIo, r: Run): Promise<void> {
  await runServerAuth(meshKeyServerAuth(r.meshKey), { io, fingerprint: r.fingerprint, peer: r.peer ?? 'client' }, { timeoutMs: r.timeoutMs, clock: r.clock ?? systemClock })
}

test('client and server holding the same mesh key prove it to each other', async () => {
  const key = randomBytes(32)
  const [c, s, seen] = pipePair()
  await Promise.all([
    clientHandshake(c, { meshKey: key, fingerprint: FP, timeoutMs: 1000 }),
    serverHandshake(s, { meshKey: key, fingerprint: FP, timeoutMs: 1000 })
  ])
  assert.deepEqual(seen.map((m) => m.type), ['hello', 'challenge', 'proof', 'accept'])
  assert.ok(!JSON.stringify(seen).includes(key.toString('base64')), 'the key never travels')
})

test('a client with another mesh key is refused: the server says rejected, the client says refused', async () => {
  const [c, s] = pipePair()
  const [cr, sr] = await Promise.allSettled([
    clientHandshake(c, { meshKey: randomBytes(32), fingerprint: FP, timeoutMs: 1000, peer: 'server X' }),
    serverHandshake(s, { meshKey: randomBytes(32), fingerprint: FP, timeoutMs: 1000 })
  ])
  assert.equal(sr.status, 'rejected')
  assert.equal(((sr as PromiseRejectedResult).reason as HandshakeError).failure, 'rejected')
  assert.equal(cr.status, 'rejected')
  const err = (cr as PromiseRejectedResult).reason as HandshakeError
  assert.equal(err.failure, 'refused')
  assert.equal(err.code, ErrorCode.MESH_KEY)
  assert.equal(err.message, 'server X refused the mesh-key handshake (mesh key proof failed); both ends must read the same --mesh-key-file')
})

test('an impostor server that accepts any proof is caught by the client', async () => {
  const [c, s] = pipePair()
  const impostor = (async () => {
    await s.read()
    await s.send({ type: 'challenge', challenge: randomBytes(32).toString('base64') })
    await s.read()
    await s.send({ type: 'accept', mac: randomBytes(32).toString('base64') })
  })()
  await assert.rejects(clientHandshake(c, { meshKey: randomBytes(32), fingerprint: FP, timeoutMs: 1000 }), (err: unknown) => {
    return err instanceof HandshakeError && err.failure === 'rejected' && err.code === ErrorCode.MESH_KEY && /failed to prove it holds the mesh key/.test(err.message)
  })
  await impostor
})

test('a relayed handshake fails when the two TLS sessions used different certificates', async () => {
  // A man in the middle terminates TLS with its own certificate, so the client binds its proof
  // to a fingerprint the real server does not have.
  const key = randomBytes(32)
  const [c, s] = pipePair()
  const [cr, sr] = await Promise.allSettled([
    clientHandshake(c, { meshKey: key, fingerprint: randomBytes(32), timeoutMs: 1000 }),
    serverHandshake(s, { meshKey: key, fingerprint: FP, timeoutMs: 1000 })
  ])
  assert.equal(((sr as PromiseRejectedResult).reason as HandshakeError).failure, 'rejected')
  assert.equal(((cr as PromiseRejectedResult).reason as HandshakeError).failure, 'refused')
})

test('the server refuses an unknown handshake version and a malformed proof', async () => {
  {
    const [c, s] = pipePair()
    const server = serverHandshake(s, { meshKey: randomBytes(32), fingerprint: FP, timeoutMs: 1000 })
    await c.send({ type: 'hello', version: 99 })
    assert.deepEqual(await c.read(), { type: 'refuse', reason: 'unsupported handshake version 99; this server speaks 1' })
    await assert.rejects(server, (err: unknown) => err instanceof HandshakeError && err.failure === 'protocol' && err.retryable === false)
  }
  {
    const [c, s] = pipePair()
    const server = serverHandshake(s, { meshKey: randomBytes(32), fingerprint: FP, timeoutMs: 1000 })
    await c.send({ type: 'hello', version: 1 })
    await c.read()
    await c.send({ type: 'proof', challenge: 'short', mac: randomBytes(32).toString('base64') })
    await assert.rejects(server, (err: unknown) => err instanceof HandshakeError && err.failure === 'protocol' && /challenge/.test(err.message))
  }
})

test('a silent peer fails the handshake when the timeout passes', async () => {
  const clock = new ManualClock()
  const [, s] = pipePair()
  const server = serverHandshake(s, { meshKey: randomBytes(32), fingerprint: FP, timeoutMs: 5000, clock, peer: 'client Y' })
  clock.advance(4999)
  await new Promise((resolve) => setImmediate(resolve))
  clock.advance(1)
  await assert.rejects(server, (err: unknown) => {
    return err instanceof HandshakeError && err.failure === 'timeout' && err.retryable && err.message === 'client Y did not complete the mesh-key handshake within 5000 ms'
  })
})

test('a read failure mid-handshake is reported as closed and retryable', async () => {
  const io: HandshakeIo = { read: async () => { throw new Error('connection lost') }, send: async () => {} }
  await assert.rejects(clientHandshake(io, { meshKey: randomBytes(32), fingerprint: FP, timeoutMs: 1000 }), (err: unknown) => {
    return err instanceof HandshakeError && err.failure === 'closed' && err.retryable && /connection lost/.test(err.message)
  })
})

test('key derivation and proofs match known answers (checked with openssl)', () => {
  const meshKey = Buffer.from(Array.from({ length: 32 }, (_, i) => i))
  const k = deriveAuthKey(meshKey)
  assert.equal(k.toString('hex'), 'adc461718f4a0457ffbaa0134c5fae092d8867b80370bd4acd06cac3f495c79c')
  const sc = Buffer.alloc(32, 0x11)
  const cc = Buffer.alloc(32, 0x22)
  const fp = Buffer.alloc(32, 0x33)
  assert.equal(proofMac(k, 'client', sc, cc, fp).toString('hex'), '7c0707d8e41832ad3b9a73963199abb7ca67a08500792eedc08127af41cbdc48')
  assert.equal(proofMac(k, 'server', sc, cc, fp).toString('hex'), '8fecbd223696d506b8acec930034da3ccd57e8e775e753e6154bfe3824ff9b4c')
})
