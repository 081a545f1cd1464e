import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import dgram from 'node:dgram'
import type { QUICClient } from '@matrixai/quic'
import { CONTROL_ALPN } from '../../src/control/constants.js'
import { meshKeyClientAuth, meshKeyServerAuth } from '../../src/control/mesh-key-auth.js'
import { createLogger, type Logger } from '../../src/logging.js'
import { connectQuic, createQuicServer, type Channel, type QuicServer, type QuicServerOptions } from '../../src/transport/quic/channel.js'
import { DEFAULT_MAX_PENDING_PER_SOURCE } from '../../src/transport/quic/constants.js'
import { closeAfterTests, stranger as silentClient } from '../helpers/quic-fixtures.js'
import { waitFor } from '../helpers/relay-process.js'

const KEY = randomBytes(32)
const log: Logger = createLogger({ level: 'silent', pretty: false })
const left = closeAfterTests()
const { servers, channels } = left

async function server (opts: Partial<QuicServerOptions> = {}): Promise<{ server: QuicServer, port: number }> {
  const s = createQuicServer({ host: '127.0.0.1', port: 0, alpn: CONTROL_ALPN, auth: meshKeyServerAuth(KEY), logger: log, onChannel: () => {}, ...opts })
  servers.push(s)
  const { port } = await s.start()
  return { server: s, port }
}

/** A control-channel client that completes QUIC from `localHost` and then says nothing. */
async function stranger (port: number, localHost: string, timerMs: number): Promise<QUICClient> {
  return await silentClient(left, port, { alpn: CONTROL_ALPN, localHost, timerMs })
}

test('pending handshakes are capped per source address and in total; refused ones are counted and admitted once a slot frees', { timeout: 120_000 }, async () => {
  // A long mesh-key timeout: strangers hold their slots for the whole test unless closed.
  const { server: s, port } = await server({ maxPendingHandshakes: 3, maxPendingPerSource: 2, handshakeTimeoutMs: 60_000 })
  const first = await stranger(port, '127.0.0.1', 10_000)
  await stranger(port, '127.0.0.1', 10_000)
  await waitFor(() => s.handshakes.pending === 2, 10_000, 'two pending handshakes')

  // A third from the same address gets no answer: its Initial packets are dropped.
  await assert.rejects(stranger(port, '127.0.0.1', 1500))
  assert.ok(s.handshakes.refusedSource >= 1, `refused by the per-source cap: ${JSON.stringify(s.handshakes)}`)
  assert.equal(s.handshakes.pending, 2)

  // Another address still has room, up to the total.
  await stranger(port, '127.0.0.2', 10_000)
  await waitFor(() => s.handshakes.pending === 3, 10_000, 'three pending handshakes')
  await assert.rejects(stranger(port, '127.0.0.3', 1500))
  assert.ok(s.handshakes.refusedTotal >= 1, `refused by the total cap: ${JSON.stringify(s.handshakes)}`)
  assert.equal(s.handshakes.pending, 3)

  // A stranger leaving frees its slot, and a real client gets in; once authenticated it holds none.
  await first.destroy({ force: true })
  await waitFor(() => s.handshakes.pending === 2, 10_000, 'the slot to free')
  const ch = await connectQuic({ host: '127.0.0.1', port, alpn: CONTROL_ALPN, auth: meshKeyClientAuth(KEY), logger: log, timeoutMs: 20_000 })
  channels.push(ch)
  assert.equal(s.channels.size, 1)
  await waitFor(() => s.handshakes.pending === 2, 10_000, 'the authenticated client to release its slot')
})

test('a client refused while the cap is full gets in by resending once a slot frees', { timeout: 120_000 }, async () => {
  const { server: s, port } = await server({ maxPendingHandshakes: 1, maxPendingPerSource: 1, handshakeTimeoutMs: 60_000 })
  const holder = await stranger(port, '127.0.0.1', 10_000)
  await waitFor(() => s.handshakes.pending === 1, 10_000, 'one pending handshake')
  const connecting = connectQuic({ host: '127.0.0.1', port, alpn: CONTROL_ALPN, auth: meshKeyClientAuth(KEY), logger: log, timeoutMs: 30_000 })
  await waitFor(() => s.handshakes.refusedSource + s.handshakes.refusedTotal >= 1, 20_000, 'the client to be refused')
  await holder.destroy({ force: true })
  const ch = await connecting
  channels.push(ch)
  assert.equal(s.channels.size, 1)
})

test('with the default caps, many clients from one loopback address connecting at once all get in', { timeout: 240_000 }, async () => {
  const n = Number(process.env.RELAYMESH_QUIC_CLIENTS ?? 100)
  // Only the caps are under test: the handshake deadlines are stretched so that a loaded machine,
  // where a burst of QUIC handshakes takes seconds of CPU, cannot fail a client for being slow.
  const { server: s, port } = await server({ handshakeTimeoutMs: 150_000 })
  const started = Date.now()
  const got = await Promise.allSettled(Array.from({ length: n }, async () => await connectQuic({ host: '127.0.0.1', port, alpn: CONTROL_ALPN, auth: meshKeyClientAuth(KEY), logger: log, timeoutMs: 150_000, handshakeTimeoutMs: 150_000 })))
  const ok = got.filter((r): r is PromiseFulfilledResult<Channel> => r.status === 'fulfilled').map((r) => r.value)
  channels.push(...ok)
  console.log(`quic clients ${JSON.stringify({ n, connected: ok.length, ms: Date.now() - started, ...s.handshakes })}`)
  assert.equal(ok.length, n, `connected ${ok.length} of ${n}: ${got.find((r) => r.status === 'rejected')?.reason as string}`)
  assert.equal(s.handshakes.refusedSource + s.handshakes.refusedTotal, 0, 'none was refused')
  await waitFor(() => s.handshakes.pending === 0, 10_000, 'every slot to be released')
  assert.ok(DEFAULT_MAX_PENDING_PER_SOURCE >= 1000, 'the default per-source cap admits 1,000 clients from one address at once')
})

test('a 0-RTT or Handshake packet for no known connection is dropped, not passed to the library, where it rejected a promise nobody handles', { timeout: 60_000 }, async () => {
  // @matrixai/quic 2.0.9 reads header.token.byteLength for a 0-RTT packet, whose header has no
  // token: the socket's message handler rejects, and Node ends the process on the unhandled
  // rejection. One datagram would take the controller down.
  const rejections: unknown[] = []
  const onRejection = (e: unknown): void => { rejections.push(e) }
  process.on('unhandledRejection', onRejection)
  try {
    const { server: s, port } = await server()
    const sock = dgram.createSocket('udp4')
    await new Promise<void>((resolve) => { sock.bind(0, '127.0.0.1', resolve) })
    for (const type of [0x01, 0x02]) { // long-header types 0-RTT and Handshake (RFC 9000 §17.2)
      const p = Buffer.alloc(1200)
      p[0] = 0xc0 | (type << 4)
      p.writeUInt32BE(1, 1) // QUIC v1
      p[5] = 16; randomBytes(16).copy(p, 6) // destination connection id
      p[22] = 8; randomBytes(8).copy(p, 23) // source connection id
      p[31] = 0x44; p[32] = 0x00 // length
      await new Promise<void>((resolve, reject) => { sock.send(p, port, '127.0.0.1', (err) => { if (err != null) reject(err); else resolve() }) })
    }
    sock.close()
    // A full connection after them: the server still answers, and by then the packets were handled.
    const ch = await connectQuic({ host: '127.0.0.1', port, alpn: CONTROL_ALPN, auth: meshKeyClientAuth(KEY), logger: log, timeoutMs: 30_000, handshakeTimeoutMs: 30_000 })
    channels.push(ch)
    assert.equal(s.channels.size, 1)
    assert.deepEqual(rejections.map((e) => (e as Error).message), [])
  } finally {
    process.off('unhandledRejection', onRejection)
  }
})
