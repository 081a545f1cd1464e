import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { spawn } from 'node:child_process'
import { Writable } from 'node:stream'
import { events as quicEvents, QUICClient } from '@matrixai/quic'
import { pino } from 'pino'
import { CONTROL_ALPN } from '../../src/control/constants.js'
import { meshKeyClientAuth, meshKeyServerAuth } from '../../src/control/mesh-key-auth.js'
import { ErrorCode, InvalidStateError, RelaymeshError } from '../../src/errors.js'
import type { Logger } from '../../src/logging.js'
import { certFingerprint } from '../../src/transport/quic/certs.js'
import { connectQuic, createQuicServer, CloseCode, DEFAULT_MAX_FRAME_BYTES, HandshakeError, type Channel, type ChannelCloseInfo, type QuicServer, type QuicServerOptions } from '../../src/transport/quic/channel.js'
import { encodeFrame, FrameDecoder, parseFrameBody } from '../../src/transport/quic/frame.js'
import { clientCrypto } from '../../src/transport/quic/quic-crypto.js'
import { runClientAuth, type HandshakeIo } from '../../src/transport/quic/auth.js'
import { systemClock } from '../../src/clock.js'
import { quicConfig, resolveTuning } from '../../src/transport/quic/quic-config.js'
import { SERVER_NAME } from '../../src/transport/quic/constants.js'
import { quicLibraryLogger } from '../../src/transport/quic/quic-logger.js'

const KEY = randomBytes(32)
/** No test may hang the run: each gets this long. */
// Generous: every wait below ends on an event; this only stops a test that hangs.
const LIMIT = { timeout: 120_000 }

/** A logger that keeps its records, so a test can assert what was logged. */
function recordingLogger (): { logger: Logger, records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write (chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line !== '') records.push(JSON.parse(line) as Record<string, unknown>)
      cb()
    }
  })
  return { logger: pino({ level: 'info' }, sink), records }
}

const servers: QuicServer[] = []
const channels: Channel[] = []
after(async () => {
  await Promise.all(channels.map(async (c) => { await c.close() }))
  await Promise.all(servers.map(async (s) => { await s.stop() }))
})

/** An echo server: answers every message with {echo: message}. */
async function echoServer (opts: Partial<QuicServerOptions> = {}): Promise<{ server: QuicServer, port: number, accepted: Channel[], records: Array<Record<string, unknown>> }> {
  const { logger, records } = recordingLogger()
  const accepted: Channel[] = []
  const server = createQuicServer({
    host: '127.0.0.1',
    port: 0,
    alpn: CONTROL_ALPN,
    auth: meshKeyServerAuth(KEY),
    logger,
    onChannel: (ch) => {
      accepted.push(ch)
      ch.on('message', (m) => { void ch.send({ echo: m }).catch(() => {}) })
    },
    ...opts
  })
  servers.push(server)
  const { port } = await server.start()
  return { server, port, accepted, records }
}

async function connect (port: number, host = '127.0.0.1', meshKey = KEY): Promise<Channel> {
  const ch = await connectQuic({ host, port, alpn: CONTROL_ALPN, auth: meshKeyClientAuth(meshKey), logger: recordingLogger().logger })
  channels.push(ch)
  return ch
}

/** Collects the next n messages of a channel. */
async function nextMessages (ch: Channel, n: number, timeoutMs = 30_000): Promise<unknown[]> {
  const got: unknown[] = []
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`got ${got.length} of ${n} messages`)) }, timeoutMs)
    const off = ch.on('message', (m) => {
      got.push(m)
      if (got.length === n) { clearTimeout(timer); off(); resolve(got) }
    })
  })
}

async function within<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what}: not within ${ms} ms`)) }, ms) })])
  } finally {
    clearTimeout(timer)
  }
}

test('messages round-trip both ways, and a message sent before the client listens is kept', LIMIT, async () => {
  const { port } = await echoServer({ onChannel: (ch) => { void ch.send({ hello: 'from server' }); ch.on('message', (m) => { void ch.send({ echo: m }) }) } })
  const ch = await connect(port)
  // Subscribe only after a pause: the server's greeting must wait for us, not be dropped.
  await new Promise((resolve) => setTimeout(resolve, 50))
  const it = ch[Symbol.asyncIterator]()
  assert.deepEqual((await it.next()).value, { hello: 'from server' })
  await ch.send({ n: 1, text: 'ünïcødé ✓' })
  assert.deepEqual((await it.next()).value, { echo: { n: 1, text: 'ünïcødé ✓' } })
  await it.return?.()
})

test('messages the server sends right after the handshake all arrive, even before the client subscribes', LIMIT, async () => {
  // The first is far above the 4 KiB handshake frame limit, and the burst is beyond the 64 KiB read-ahead.
  const big = 'b'.repeat(100_000)
  const { port } = await echoServer({
    onChannel: (ch) => {
      void ch.send(big)
      for (let i = 0; i < 200; i++) void ch.send({ i, pad: 'p'.repeat(1000) })
    }
  })
  const ch = await connect(port)
  await new Promise((resolve) => setTimeout(resolve, 200))
  const got = await nextMessages(ch, 201, 20_000)
  assert.equal(got[0], big)
  assert.deepEqual(got.slice(1).map((m) => (m as { i: number }).i), Array.from({ length: 200 }, (_, i) => i))
})

test('an IPv6 loopback server and client talk', LIMIT, async () => {
  const { port } = await echoServer({ host: '::1' })
  const ch = await connect(port, '::1')
  assert.equal(ch.remote.host, '::1')
  const reply = nextMessages(ch, 1)
  await ch.send('v6')
  assert.deepEqual(await reply, [{ echo: 'v6' }])
})

test('many messages arrive in order in both directions', LIMIT, async () => {
  const N = 2000
  const { port } = await echoServer()
  const ch = await connect(port)
  const replies = nextMessages(ch, N, 10_000)
  for (let i = 0; i < N; i++) void ch.send({ i })
  const got = await replies
  assert.deepEqual(got.map((m) => (m as { echo: { i: number } }).echo.i), Array.from({ length: N }, (_, i) => i))
})

test('a message just under the frame limit arrives whole; one over it is refused at send', LIMIT, async () => {
  const digest = (m: string): string => createHash('sha256').update(m).digest('hex')
  const { port } = await echoServer({ onChannel: (ch) => { ch.on('message', (m) => { void ch.send({ len: (m as string).length, sha: digest(m as string) }) }) } })
  const ch = await connect(port)
  // A JSON string body is the text plus two quotes; leave room for the echo's wrapper too.
  const big = 'x'.repeat(DEFAULT_MAX_FRAME_BYTES - 64)
  // @matrixai/quic moves about 1 MB/s (a packet at a time through JS), slower on a loaded machine.
  const reply = nextMessages(ch, 1, 20_000)
  await ch.send(big)
  const [r] = await reply as Array<{ len: number, sha: string }>
  assert.deepEqual(r, { len: big.length, sha: digest(big) })
  assert.throws(() => { void ch.send('y'.repeat(DEFAULT_MAX_FRAME_BYTES)) }, TypeError)
  assert.throws(() => { void ch.send(undefined) }, TypeError)
  const after = nextMessages(ch, 1)
  await ch.send('still open')
  assert.deepEqual(await after, [{ len: 10, sha: digest('still open') }])
})

test('a client with the wrong mesh key is refused with a clear error, and the server keeps serving', LIMIT, async () => {
  const { port, records } = await echoServer()
  await assert.rejects(connect(port, '127.0.0.1', randomBytes(32)), (err: unknown) => {
    assert.ok(err instanceof HandshakeError)
    assert.equal(err.code, ErrorCode.MESH_KEY)
    assert.equal(err.retryable, false)
    assert.match(err.message, /refused the mesh-key handshake.*same --mesh-key-file/)
    return true
  })
  assert.ok(records.some((r) => r.msg === 'refused QUIC client' && r.failure === 'rejected' && r.auth === 'mesh-key'), 'server logs the refusal and why')
  const ch = await connect(port)
  const reply = nextMessages(ch, 1)
  await ch.send('after refusal')
  assert.deepEqual(await reply, [{ echo: 'after refusal' }])
})

test('a server without the mesh key is refused by the client', LIMIT, async () => {
  const { port } = await echoServer({ auth: meshKeyServerAuth(randomBytes(32)) })
  await assert.rejects(connect(port), (err: unknown) => err instanceof HandshakeError && err.code === ErrorCode.MESH_KEY)
})

/** A client built from the library directly: it passes the handshake, then writes whatever it likes. */
async function rawClient (port: number): Promise<{ write: (b: Uint8Array) => Promise<void>, closed: Promise<{ code?: number, reason: string }>, destroy: () => Promise<void> }> {
  const log = recordingLogger().logger
  const client = await QUICClient.createQUICClient({
    host: '127.0.0.1', port, serverName: SERVER_NAME, localHost: '127.0.0.1', crypto: clientCrypto(), config: quicConfig(resolveTuning({}), 'client', CONTROL_ALPN), logger: quicLibraryLogger(log, 'raw')
  })
  const closed = new Promise<{ code?: number, reason: string }>((resolve) => {
    client.connection.addEventListener(quicEvents.EventQUICConnectionClose.name, (evt: Event) => {
      const data = ((evt as quicEvents.EventQUICConnectionClose).detail as unknown as { data?: { errorCode: number, reason: Uint8Array } }).data
      resolve({ code: data?.errorCode, reason: Buffer.from(data?.reason ?? []).toString() })
    }, { once: true })
  })
  const stream = client.connection.newStream('bidi')
  const writer = stream.writable.getWriter()
  const reader = stream.readable.getReader()
  const decoder = new FrameDecoder(4096)
  const pending: unknown[] = []
  const io: HandshakeIo = {
    send: async (m) => { await writer.write(encodeFrame(m, 4096)) },
    read: async () => {
      while (pending.length === 0) {
        const { value, done } = await reader.read()
        if (done) throw new Error('ended')
        decoder.push(value)
        for (let body = decoder.next(); body !== undefined; body = decoder.next()) pending.push(parseFrameBody(body))
      }
      return pending.shift()
    }
  }
  await runClientAuth(meshKeyClientAuth(KEY), { io, fingerprint: certFingerprint(client.connection.getRemoteCertsChain()[0]), peer: 'server' }, { timeoutMs: 5000, clock: systemClock })
  reader.releaseLock()
  void stream.readable.pipeTo(new WritableStream()).catch(() => {})
  return {
    write: async (b) => { await writer.write(b) },
    closed,
    destroy: async () => { await client.destroy({ force: true }) }
  }
}

for (const [name, garbage] of [
  ['a body that is not JSON', Buffer.concat([Buffer.from([0, 0, 0, 5]), Buffer.from('{nope')])],
  ['a length above the limit', Buffer.from([0xff, 0xff, 0xff, 0xff])],
  ['a body that is not UTF-8', Buffer.from([0, 0, 0, 2, 0xc3, 0x28])]
] as const) {
  test(`${name} from an authenticated client closes only that channel, with a logged reason`, LIMIT, async () => {
    const { port, accepted, records } = await echoServer()
    const good = await connect(port)
    const raw = await rawClient(port)
    await raw.write(garbage)
    const closed = await within(raw.closed, 3000, 'raw client close')
    assert.equal(closed.code, CloseCode.PROTOCOL_ERROR)
    assert.ok(closed.reason.length > 0)
    assert.ok(records.some((r) => r.msg === 'closing channel: peer broke the framing'), 'server logs why')
    await raw.destroy()
    const reply = nextMessages(good, 1)
    await good.send('unaffected')
    assert.deepEqual(await reply, [{ echo: 'unaffected' }])
    assert.equal(accepted.filter((c) => !c.isClosed).length, 1)
  })
}

test('a connection that never starts the handshake is closed after the handshake timeout', LIMIT, async () => {
  const { port, records } = await echoServer({ handshakeTimeoutMs: 300 })
  const log = recordingLogger().logger
  const client = await QUICClient.createQUICClient({
    host: '127.0.0.1', port, serverName: SERVER_NAME, localHost: '127.0.0.1', crypto: clientCrypto(), config: quicConfig(resolveTuning({}), 'client', CONTROL_ALPN), logger: quicLibraryLogger(log, 'silent')
  })
  await within(client.closedP, 30_000, 'server closing the idle stranger')
  assert.ok(records.some((r) => r.msg === 'closing connection: authentication not completed in time'))
  await client.destroy({ force: true })
})

test('closing a client channel reaches the server with its reason', LIMIT, async () => {
  const { port, accepted } = await echoServer()
  const ch = await connect(port)
  await ch.send('one')
  await nextMessages(ch, 1)
  const serverSide = accepted[0]
  await ch.close('relay shutting down')
  await ch.close('twice is fine')
  assert.equal(ch.isClosed, true)
  assert.throws(() => { void ch.send('late') }, InvalidStateError)
  const info = await within(serverSide.closed, 30_000, 'server-side close')
  assert.deepEqual(info, { reason: 'relay shutting down', code: CloseCode.NORMAL, initiator: 'peer' })
})

test('server stop closes client channels, and the client sees why', LIMIT, async () => {
  const { server, port } = await echoServer()
  const a = await connect(port)
  const b = await connect(port)
  const seen: ChannelCloseInfo[] = []
  a.on('close', (i) => seen.push(i))
  await server.stop()
  await server.stop()
  // The reason and initiator show the server's close reached them, not their own idle timeout.
  const [ia, ib] = await within(Promise.all([a.closed, b.closed]), 30_000, 'client closes')
  for (const i of [ia, ib]) assert.deepEqual(i, { reason: 'server stopping', code: CloseCode.SHUTDOWN, initiator: 'peer' })
  assert.deepEqual(seen, [ia])
  assert.equal(server.channels.size, 0)
})

test('a client reconnects after the server restarts on the same port', LIMIT, async () => {
  const first = await echoServer()
  const ch1 = await connect(first.port)
  await first.server.stop()
  await ch1.closed
  const second = await echoServer({ port: first.port })
  assert.equal(second.port, first.port)
  const ch2 = await connect(first.port)
  const reply = nextMessages(ch2, 1)
  await ch2.send('again')
  assert.deepEqual(await reply, [{ echo: 'again' }])
})

test('connecting where no server listens fails with a retryable error within the timeout', LIMIT, async () => {
  const { server, port } = await echoServer()
  await server.stop()
  // The message names the 300 ms timeout: the client's own timer ended the attempt.
  await assert.rejects(within(connectQuic({ host: '127.0.0.1', port, alpn: CONTROL_ALPN, auth: meshKeyClientAuth(KEY), logger: recordingLogger().logger, timeoutMs: 300 }), 30_000, 'connect failing'), (err: unknown) => {
    assert.ok(err instanceof RelaymeshError)
    assert.equal(err.retryable, true)
    assert.match(err.message, /no answer within 300 ms/)
    return true
  })
})

test('a client that vanishes without closing is dropped by the server after the idle timeout', LIMIT, async () => {
  const { port, accepted } = await echoServer({ maxIdleTimeoutMs: 600, keepAliveIntervalMs: 200 })
  const channelModule = new URL('../../src/transport/quic/channel.js', import.meta.url).href
  const authModule = new URL('../../src/control/mesh-key-auth.js', import.meta.url).href
  const script = `
    import { connectQuic } from '${channelModule}'
    import { meshKeyClientAuth } from '${authModule}'
    import { pino } from 'pino'
    const ch = await connectQuic({ host: '127.0.0.1', port: ${port}, alpn: '${CONTROL_ALPN}', auth: meshKeyClientAuth(Buffer.from('${KEY.toString('hex')}', 'hex')), logger: pino({ level: 'silent' }) })
    await ch.send('here')
    setInterval(() => {}, 1000)`
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore', cwd: new URL('../../..', import.meta.url).pathname })
  try {
    const deadline = Date.now() + 30_000
    while (accepted.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.equal(accepted.length, 1, 'the child connected')
    child.kill('SIGKILL')
    // The transport's idle timeout closed it: nothing else would name that reason.
    const info = await within(accepted[0].closed, 30_000, 'server noticing the dead client')
    assert.equal(info.initiator, 'transport')
    assert.match(info.reason, /idle timeout/)
  } finally {
    child.kill('SIGKILL')
  }
})

test('many clients closing at once leave no channel or connection behind on the server', LIMIT, async () => {
  // An idle timeout far beyond the test's waits: a stop that waited on a leftover would time out.
  const { server, port } = await echoServer({ maxIdleTimeoutMs: 600_000 })
  const clients = await Promise.all(Array.from({ length: 12 }, async () => await connect(port)))
  assert.equal(server.channels.size, 12)
  await Promise.all(clients.map(async (c) => { await c.close('bulk close') }))
  const deadline = Date.now() + 30_000
  while (server.channels.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  assert.equal(server.channels.size, 0)
  await within(server.stop(), 60_000, 'stop, which does not wait on leftovers')
})

test('a silent channel stays open on the client\'s idle keepalive alone, and closes at the idle timeout without it', LIMIT, async () => {
  // The control channel's shape: the server sends no keepalives.
  const { port, accepted } = await echoServer({ maxIdleTimeoutMs: 1_500, keepAliveIntervalMs: 0 })
  const dial = async (keepAliveIntervalMs: number): Promise<Channel> => {
    const ch = await connectQuic({ host: '127.0.0.1', port, alpn: CONTROL_ALPN, auth: meshKeyClientAuth(KEY), logger: recordingLogger().logger, maxIdleTimeoutMs: 1_500, keepAliveIntervalMs })
    channels.push(ch)
    return ch
  }
  const kept = await dial(400)
  const silent = await dial(0)
  // The one without keepalives closes by idle timeout: what the other must be spared.
  const info = await within(silent.closed, 30_000, 'the silent channel timing out')
  assert.equal(info.initiator, 'transport')
  assert.match(info.reason, /idle timeout/)
  // Four idle timeouts later the kept one is still open at both ends, and still carries messages.
  const until = Date.now() + 6_000
  while (Date.now() < until && !kept.isClosed) await new Promise((resolve) => setTimeout(resolve, 100))
  assert.equal(kept.isClosed, false)
  assert.equal(accepted.filter((c) => !c.isClosed).length, 1)
  const echoed = new Promise((resolve) => { kept.on('message', resolve) })
  await kept.send('still here')
  assert.deepEqual(await within(echoed, 30_000, 'the echo'), { echo: 'still here' })
})
