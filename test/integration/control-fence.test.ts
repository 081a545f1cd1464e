import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { systemClock, type Clock } from '../../src/clock.js'
import type { ControllerWireMessage, TableMessage } from '../../src/control/messages.js'
import { controlServerChannel } from '../../src/control/control-channel.js'
import { silentLogger } from '../../src/logging.js'
import { createQuicServer } from '../../src/transport/quic/server.js'
import type { Channel, QuicServer } from '../../src/transport/quic/types.js'
import { ControlClient } from '../../relay/control-client.js'
import { waitFor } from '../helpers/relay-process.js'

const KEY = randomBytes(32)

/** A controller stand-in: takes one relay channel and records what the relay sends. */
async function fakeController (): Promise<{ server: QuicServer, port: number, channel: () => Channel | undefined, got: Array<Record<string, unknown>> }> {
  let channel: Channel | undefined
  const got: Array<Record<string, unknown>> = []
  const server = createQuicServer({
    host: '127.0.0.1',
    port: 0,
    ...controlServerChannel(KEY),
    logger: silentLogger(),
    onChannel: (ch) => { channel = ch; ch.on('message', (m) => { got.push(m as Record<string, unknown>) }) }
  })
  const { port } = await server.start()
  return { server, port, channel: () => channel, got }
}

function table (fence: number, version: number): ControllerWireMessage {
  return { type: 'table', fence, version, round: 0, upserts: [[`via${version}`, null, ['z']]], removals: [] }
}

const acked = (got: Array<Record<string, unknown>>, version: number): boolean => got.some((m) => m.type === 'ack' && m.version === version)

test('a relay\'s control client ignores a leader\'s messages with a lower fencing number than it has seen', async () => {
  const a = await fakeController()
  const b = await fakeController()
  const applied: number[] = []
  const neighbours: string[][] = []
  const client = new ControlClient({ clock: systemClock, logger: silentLogger() }, {
    id: 'r1',
    advertise: { host: '127.0.0.1', port: 7999, family: 4 },
    controllers: [{ host: '127.0.0.1', port: a.port, family: 4 }, { host: '127.0.0.1', port: b.port, family: 4 }],
    meshKey: KEY
  }, {
    current: () => ({ version: 0, table: new Map() }),
    onNeighbours: (list) => { neighbours.push(list.map((n) => n.id)) },
    onTable: (m: TableMessage) => { applied.push(m.version) }
  })
  client.start()
  try {
    await waitFor(() => a.got.some((m) => m.type === 'register') && b.got.some((m) => m.type === 'register'), 15_000, 'both registers')
    const chA = a.channel() as Channel
    const chB = b.channel() as Channel
    // A leads under fence 20.
    await chA.send({ type: 'welcome', role: 'leader', controller: 'A', fence: 20 } satisfies ControllerWireMessage)
    await chA.send(table(20, 1))
    await waitFor(() => acked(a.got, 1), 10_000, 'ack of v1')
    // A message from before A's current term (fence 10) is stale, even from the followed controller.
    await chA.send(table(10, 2))
    await chA.send({ type: 'neighbours', fence: 10, neighbours: [{ id: 'n10', address: '127.0.0.1:7010' }] } satisfies ControllerWireMessage)
    await chA.send(table(20, 3))
    await waitFor(() => acked(a.got, 3), 10_000, 'ack of v3')
    assert.deepEqual(applied, [1, 3])
    assert.deepEqual(neighbours, [])
    assert.equal(acked(a.got, 2), false, 'a stale table is not acknowledged')
    // B, deposed long ago (fence 15) and unaware of it, claims leadership: the relay keeps following A.
    await chB.send({ type: 'welcome', role: 'leader', controller: 'B', fence: 15 } satisfies ControllerWireMessage)
    await chB.send(table(15, 4))
    // Then B wins a real election (fence 30): followed from now on.
    await chB.send({ type: 'role', role: 'leader', fence: 30 } satisfies ControllerWireMessage)
    await chB.send(table(30, 5))
    await waitFor(() => acked(b.got, 5), 10_000, 'ack of v5')
    assert.deepEqual(applied, [1, 3, 5])
    assert.equal(client.staleFenceDrops, 4)
    // And A, now deposed, is ignored in turn.
    await chA.send(table(20, 6))
    await chB.send(table(30, 7))
    await waitFor(() => acked(b.got, 7), 10_000, 'ack of v7')
    assert.deepEqual(applied, [1, 3, 5, 7])
  } finally {
    await client.stop()
    await a.server.stop()
    await b.server.stop()
  }
})

test('after FENCE_FORGET_MS with no leader, a relay accepts a lower fencing number (a controller restarted with its clock set back)', async () => {
  const a = await fakeController()
  let skew = 0
  const clock: Clock = { ...systemClock, monoMs: () => systemClock.monoMs() + skew }
  const applied: number[] = []
  const client = new ControlClient({ clock, logger: silentLogger() }, {
    id: 'r1', advertise: { host: '127.0.0.1', port: 7999, family: 4 }, controllers: [{ host: '127.0.0.1', port: a.port, family: 4 }], meshKey: KEY
  }, {
    current: () => ({ version: 0, table: new Map() }),
    onNeighbours: () => {},
    onTable: (m: TableMessage) => { applied.push(m.version) }
  })
  client.start()
  try {
    await waitFor(() => a.got.some((m) => m.type === 'register'), 15_000, 'register')
    const ch = a.channel() as Channel
    await ch.send({ type: 'welcome', role: 'leader', controller: 'A', fence: 50 } satisfies ControllerWireMessage)
    await ch.send(table(50, 1))
    await waitFor(() => acked(a.got, 1), 10_000, 'ack of v1')
    // The leader goes; a lower number straight after is still refused.
    await ch.send({ type: 'role', role: 'standby', fence: 0 } satisfies ControllerWireMessage)
    await ch.send({ type: 'role', role: 'leader', fence: 10 } satisfies ControllerWireMessage)
    await ch.send(table(10, 2))
    await waitFor(() => client.staleFenceDrops === 2, 10_000, 'two stale messages')
    skew += 10_000
    await ch.send({ type: 'role', role: 'leader', fence: 10 } satisfies ControllerWireMessage)
    await ch.send(table(10, 3))
    await waitFor(() => acked(a.got, 3), 10_000, 'ack of v3')
    assert.deepEqual(applied, [1, 3])
    // From then on the lower numbering is the one that counts.
    await ch.send(table(9, 4))
    await ch.send(table(10, 5))
    await waitFor(() => acked(a.got, 5), 10_000, 'ack of v5')
    assert.deepEqual(applied, [1, 3, 5])
  } finally {
    await client.stop()
    await a.server.stop()
  }
})
