import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { controlClientChannel, controlServerChannel } from '../../src/control/control-channel.js'
import { CONTROL_ALPN } from '../../src/control/constants.js'
import { ErrorCode } from '../../src/errors.js'
import {
  connectQuic, createQuicServer, HandshakeError, type Channel, type ClientAuth, type ConnectQuicOptions, type QuicServer,
  type QuicServerOptions, type ServerAuth
} from '../../src/transport/quic/channel.js'
import { captureLogger, type CapturedLine } from '../helpers/capture-logger.js'
import { closeAfterTests, stranger } from '../helpers/quic-fixtures.js'
import { waitFor } from '../helpers/relay-process.js'

/**
 * The QUIC transport carries channel types other than the control channel, unchanged: here a
 * stand-in for the signaling client channel (browsers' proxies authenticated by a room token, not
 * the mesh key), with its own ALPN and its own hook, written in this test, beside a real
 * control-channel server in the same process.
 */

const MESH_KEY = randomBytes(32)
const ROOM_ALPN = 'relaymesh-test-room/1'
const LIMIT = { timeout: 120_000 }

interface Member { user: string, room: string }
const TOKENS = new Map<string, Member>([['token-alice', { user: 'alice', room: 'r1' }]])

/** The room-token hook: the client sends its token; the server admits the member it names. */
const roomServerAuth: ServerAuth<Member> = {
  name: 'room-token',
  verify: async ({ io, peer }) => {
    const m = await io.read() as { type?: unknown, token?: unknown } | null
    if (m?.type !== 'token' || typeof m.token !== 'string') throw new HandshakeError('protocol', `${peer} sent no token`, { reason: 'expected a token message' })
    const member = TOKENS.get(m.token)
    if (member === undefined) throw new HandshakeError('rejected', `${peer} presented an unknown room token`, { reason: 'room token not valid' })
    await io.send({ type: 'welcome', user: member.user })
    return member
  }
}

function roomClientAuth (token: string): ClientAuth {
  return {
    name: 'room-token',
    fix: 'ask the room for a new token',
    prove: async ({ io, peer }) => {
      await io.send({ type: 'token', token })
      const m = await io.read() as { type?: unknown } | null
      if (m?.type !== 'welcome') throw new HandshakeError('protocol', `${peer} did not welcome us`)
    }
  }
}

const left = closeAfterTests()

interface Running { server: QuicServer, port: number, members: Member[], records: CapturedLine[] }

/** A room server: answers each message with who sent it, as its hook identified them. */
async function roomServer (opts: Partial<QuicServerOptions<Member>> = {}): Promise<Running> {
  const { logger, lines: records } = captureLogger()
  const members: Member[] = []
  const server = createQuicServer<Member>({
    host: '127.0.0.1',
    port: 0,
    alpn: ROOM_ALPN,
    auth: roomServerAuth,
    logger,
    onChannel: (ch, member) => {
      members.push(member)
      ch.on('message', (m) => { void ch.send({ from: member.user, room: member.room, said: m }).catch(() => {}) })
    },
    ...opts
  })
  left.servers.push(server)
  const { port } = await server.start()
  return { server, port, members, records }
}

/** A control-channel server as the controller runs it: echoes what it gets. */
async function controlServer (): Promise<Running> {
  const { logger, lines: records } = captureLogger()
  const server = createQuicServer({
    host: '127.0.0.1',
    port: 0,
    ...controlServerChannel(MESH_KEY),
    logger,
    onChannel: (ch) => { ch.on('message', (m) => { void ch.send({ echo: m }).catch(() => {}) }) }
  })
  left.servers.push(server)
  const { port } = await server.start()
  return { server, port, members: [], records }
}

async function connect (port: number, channel: Pick<ConnectQuicOptions, 'alpn' | 'auth'>, timeoutMs = 30_000): Promise<Channel> {
  const ch = await connectQuic({ host: '127.0.0.1', port, ...channel, logger: captureLogger().logger, timeoutMs, handshakeTimeoutMs: timeoutMs })
  left.channels.push(ch)
  return ch
}

async function roundTrip (ch: Channel, msg: unknown): Promise<unknown> {
  const reply = new Promise((resolve) => { const off = ch.on('message', (m) => { off(); resolve(m) }) })
  await ch.send(msg)
  return await reply
}

test('a second channel type with its own ALPN and hook runs beside the control channel; wrong ALPN or a failing hook is refused with a clear reason', LIMIT, async () => {
  const control = await controlServer()
  const room = await roomServer()
  const roomChannel = { alpn: ROOM_ALPN, auth: roomClientAuth('token-alice') }

  // The right ALPN and a valid token: the hook's verdict reaches onChannel, and messages flow.
  const alice = await connect(room.port, roomChannel)
  assert.deepEqual(room.members, [{ user: 'alice', room: 'r1' }])
  assert.deepEqual(await roundTrip(alice, 'hello room'), { from: 'alice', room: 'r1', said: 'hello room' })

  // The control channel on the same machine is untouched by it.
  const relay = await connect(control.port, controlClientChannel(MESH_KEY))
  assert.deepEqual(await roundTrip(relay, 'hello controller'), { echo: 'hello controller' })

  // The right ALPN, a token the hook does not know: refused, with the server's reason and the fix.
  await assert.rejects(connect(room.port, { alpn: ROOM_ALPN, auth: roomClientAuth('token-mallory') }), (err: unknown) => {
    assert.ok(err instanceof HandshakeError, String(err))
    assert.equal(err.failure, 'refused')
    assert.equal(err.code, ErrorCode.AUTH)
    assert.equal(err.retryable, false)
    assert.match(err.message, /^QUIC server 127\.0\.0\.1:\d+ refused the room-token handshake \(room token not valid\); ask the room for a new token$/)
    return true
  })
  assert.ok(room.records.some((r) => r.msg === 'refused QUIC client' && r.auth === 'room-token' && r.failure === 'rejected'), 'the room server logs the refusal and why')

  // A relay's control client dialling the room server, and a room client dialling the controller:
  // each is refused at TLS for asking another channel type, and the error says so.
  for (const [port, channel, alpn] of [[room.port, controlClientChannel(MESH_KEY), CONTROL_ALPN], [control.port, roomChannel, ROOM_ALPN]] as const) {
    await assert.rejects(connect(port, channel), (err: unknown) => {
      assert.ok(err instanceof HandshakeError, String(err))
      assert.equal(err.code, ErrorCode.AUTH)
      assert.equal(err.retryable, false)
      assert.match(err.message, new RegExp(`^QUIC server 127\\.0\\.0\\.1:${port} does not serve '${alpn.replace('/', '\\/')}' channels \\(TLS: no application protocol\\)`))
      return true
    })
  }

  // Neither server let the refused clients in or kept a handshake slot for them, and both still serve.
  assert.equal(room.server.channels.size, 1)
  assert.equal(control.server.channels.size, 1)
  await waitFor(() => room.server.handshakes.pending === 0 && control.server.handshakes.pending === 0, 10_000, 'every handshake slot to be released')
  assert.deepEqual(await roundTrip(alice, 'still here'), { from: 'alice', room: 'r1', said: 'still here' })
  assert.deepEqual(await roundTrip(relay, 'still here'), { echo: 'still here' })
})

test('the handshake limits cap a room-token server as they cap the control channel', LIMIT, async () => {
  const room = await roomServer({ maxPendingHandshakes: 1, maxPendingPerSource: 1, handshakeTimeoutMs: 60_000 })
  // A stranger that completes QUIC with the room ALPN and says nothing holds the only slot.
  const holder = await stranger(left, room.port, { alpn: ROOM_ALPN, timerMs: 10_000 })
  await waitFor(() => room.server.handshakes.pending === 1, 10_000, 'the stranger to hold a slot')
  const connecting = connect(room.port, { alpn: ROOM_ALPN, auth: roomClientAuth('token-alice') }, 60_000)
  await waitFor(() => room.server.handshakes.refusedSource + room.server.handshakes.refusedTotal >= 1, 20_000, 'the member to be held off by the cap')
  assert.equal(room.members.length, 0)
  // The stranger leaving frees the slot; the member's resent Initial gets in, and then holds none.
  await holder.destroy({ force: true })
  const ch = await connecting
  assert.deepEqual(await roundTrip(ch, 'in'), { from: 'alice', room: 'r1', said: 'in' })
  await waitFor(() => room.server.handshakes.pending === 0, 10_000, 'the member to release its slot')
})
