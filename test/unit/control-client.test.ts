import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { ControlClient } from '../../relay/control-client.js'
import { ForwardingTable, type IdRoute } from '../../relay/forwarding-table.js'
import type { Route } from '../../relay/types.js'
import { systemClock } from '../../src/clock.js'
import { controlServerChannel } from '../../src/control/control-channel.js'
import { CONTROL_PROTOCOL_VERSION, type NeighbourEntry, type TableEntry, type TableMessage } from '../../src/control/messages.js'
import { upsertsToWire } from '../../src/control/table-codec.js'
import { silentLogger } from '../../src/logging.js'
import { captureLogger } from '../helpers/capture-logger.js'
import { createQuicServer, type Channel, type QuicServer } from '../../src/transport/quic/channel.js'

/**
 * The relay's control client against fake controllers: real QUIC servers (the channel and its
 * mesh-key handshake are the real ones) whose controller side the test scripts message by message.
 * The client feeds a real ForwardingTable, as the relay does, so an entry that slipped through
 * would throw where the relay's would.
 */

const KEY = Buffer.alloc(32, 3)
const LIMIT = { timeout: 30_000 }

const cleanup: Array<() => Promise<void>> = []
after(async () => { for (const c of cleanup.reverse()) await c() })

async function until (what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`)
    await delay(10)
  }
}

type Msg = Record<string, unknown>

/** Fencing numbers as a store hands them out: each claim of leadership takes a higher one. */
let lastFence = 0
const FENCED = new Set(['welcome', 'role', 'neighbours', 'table'])

/** A scripted controller: records what relays send and sends what the test says. */
class FakeController {
  readonly channels: Channel[] = []
  readonly got: Msg[] = []
  port = 0
  /** The fence this controller's messages carry: taken anew each time it says leader. */
  private fence = 0
  private readonly server: QuicServer

  constructor () {
    this.server = createQuicServer({
      host: '127.0.0.1',
      port: 0,
      ...controlServerChannel(KEY),
      logger: silentLogger(),
      onChannel: (ch) => {
        this.channels.push(ch)
        ch.on('message', (m) => { this.got.push(m as Msg) })
      }
    })
  }

  async start (): Promise<this> {
    this.port = (await this.server.start()).port
    cleanup.push(async () => { await this.server.stop() })
    return this
  }

  get channel (): Channel {
    const ch = this.channels.at(-1)
    if (ch === undefined) throw new Error('no relay connected')
    return ch
  }

  of (type: string): Msg[] { return this.got.filter((m) => m.type === type) }

  /** Sends `msg`, stamped with this controller's fence as a real leader's would be. */
  async send (msg: Msg): Promise<void> {
    if (msg.role === 'leader') this.fence = ++lastFence
    const stamped = FENCED.has(msg.type as string) && !('fence' in msg) ? { ...msg, fence: this.fence } : msg
    await this.channel.send(stamped)
  }

  async ackOf (version: number): Promise<void> {
    await until(`the ack of version ${version}`, () => this.of('ack').some((m) => m.version === version))
  }
}

/** A table message as a controller sends it (upserts grouped, table-codec.ts). */
function table (version: number, upserts: Record<string, TableEntry>, removals: string[] = []): Msg {
  return { type: 'table', version, round: 0, upserts: upsertsToWire(upserts), removals }
}

interface Harness {
  client: ControlClient
  forwarding: ForwardingTable
  tables: TableMessage[]
  neighbours: NeighbourEntry[][]
  routes: Route[]
}

function startClient (controllers: FakeController[], current = new Map<string, IdRoute>(), version = 0): Harness {
  const tables: TableMessage[] = []
  const neighbours: NeighbourEntry[][] = []
  const h: Partial<Harness> = { tables, neighbours, routes: [] }
  const forwarding = new ForwardingTable({ logger: silentLogger() }, (r) => { h.routes = r })
  forwarding.replace(current, version)
  const client = new ControlClient({ clock: systemClock, logger: silentLogger() }, {
    id: 'a',
    advertise: { host: '127.0.0.1', port: 7001, family: 4 },
    controllers: controllers.map((c) => ({ host: '127.0.0.1', port: c.port, family: 4 as const })),
    meshKey: KEY
  }, {
    current: () => ({ version: forwarding.version, table: forwarding.entries() }),
    onNeighbours: (list) => { neighbours.push(list); forwarding.setNeighbours(list) },
    onTable: (m) => {
      tables.push(m)
      forwarding.update(m.upserts, m.removals, m.version)
    }
  })
  client.start()
  cleanup.push(async () => { await client.stop() })
  return Object.assign(h, { client, forwarding }) as Harness
}

test('the client registers with its id, advertised address, boot and the table it forwards on', LIMIT, async () => {
  const c = await new FakeController().start()
  const h = startClient([c], new Map([['c', { nextHop: 'b', backup: null }]]), 4)
  await until('a register arrives', () => c.of('register').length === 1)
  assert.deepEqual(c.of('register')[0], {
    type: 'register',
    protocol: CONTROL_PROTOCOL_VERSION,
    id: 'a',
    address: '127.0.0.1:7001',
    boot: h.client.boot,
    caps: ['forward', 'tunnel'],
    table_version: 4,
    table: [['b', null, ['c']]]
  })
  assert.equal(h.client.connected, 1)
  assert.equal(h.client.leaderAddress, undefined, 'no controller has said leader yet')
})

test('tables come only from the controller whose latest word was leader; a standby that takes over is followed', LIMIT, async () => {
  const c1 = await new FakeController().start()
  const c2 = await new FakeController().start()
  const h = startClient([c1, c2])
  await until('both have a register', () => c1.of('register').length === 1 && c2.of('register').length === 1)
  await c1.send({ type: 'welcome', role: 'standby', controller: 'c1' })
  await c2.send({ type: 'welcome', role: 'leader', controller: 'c2' })
  await c2.send(table(1, { b: { next_hop: 'b', backup: null } }))
  await c2.ackOf(1)
  assert.equal(h.client.leaderAddress, `127.0.0.1:${c2.port}`)

  // In order on c1's channel: a table while standby (ignored), the takeover, a table as leader.
  await c1.send(table(2, { c: { next_hop: 'b', backup: null } }))
  await c1.send({ type: 'role', role: 'leader' })
  await c1.send(table(3, { d: { next_hop: 'b', backup: null } }))
  await c1.ackOf(3)
  assert.deepEqual(h.tables.map((t) => t.version), [1, 3])
  assert.equal(c1.of('ack').some((m) => m.version === 2), false, 'a standby\'s table is not acked')
  assert.equal(h.client.leaderAddress, `127.0.0.1:${c1.port}`)
  const reRegister = c1.of('register')[1]
  assert.equal(reRegister?.table_version, 1, 'the new leader gets the table the relay forwards on at the takeover')
  assert.deepEqual(reRegister?.table, [['b', null, ['b']]])

  // c2 is no longer followed: its table is ignored until it says leader again.
  await c2.send(table(4, { e: { next_hop: 'b', backup: null } }))
  await c2.send({ type: 'role', role: 'leader' })
  await until('a re-register reaches c2', () => c2.of('register').length === 2)
  assert.deepEqual(h.tables.map((t) => t.version), [1, 3])
  assert.equal(h.client.leaderAddress, `127.0.0.1:${c2.port}`)
  assert.equal(h.client.skippedEntries, 0)
})

test('a table or neighbour list with bad entries applies the rest, counts the skipped ones, and is acked', LIMIT, async () => {
  const c = await new FakeController().start()
  const h = startClient([c])
  await until('a register arrives', () => c.of('register').length === 1)
  await c.send({ type: 'welcome', role: 'leader', controller: 'c' })
  await c.send({
    type: 'neighbours',
    neighbours: [
      { id: 'b', address: '127.0.0.1:7002' },
      { id: 'c', address: '127.0.0.1:0' },
      { id: '_x', address: '127.0.0.1:7003' }
    ]
  })
  await c.send(table(1, {
    c: { next_hop: 'b', backup: null },
    _x: { next_hop: 'b', backup: null },
    d: { next_hop: 'b', backup: '-y' }
  }, ['e', 'constructor']))
  await c.ackOf(1)
  assert.deepEqual(h.neighbours, [[{ id: 'b', address: '127.0.0.1:7002' }]])
  assert.deepEqual(h.tables[0]?.upserts, { c: { next_hop: 'b', backup: null } })
  assert.deepEqual(h.tables[0]?.removals, ['e'])
  assert.equal(h.client.skippedEntries, 5)
  assert.deepEqual(h.routes.map((r) => [r.nextHop.id, r.nextHop.port]), [['b', 7002]], 'the good entries are forwarded on')
  assert.equal(c.channel.isClosed, false, 'the channel stays open')
})

test('an invalid message closes the channel; the client reconnects and registers again, keeping its tables', LIMIT, async () => {
  const c = await new FakeController().start()
  const h = startClient([c])
  await until('a register arrives', () => c.of('register').length === 1)
  await c.send({ type: 'welcome', role: 'leader', controller: 'c' })
  await c.send(table(1, { b: { next_hop: 'b', backup: null } }))
  await c.ackOf(1)
  const first = c.channel
  await c.send({ type: 'table', version: 'two' })
  await first.closed
  await until('the client registers again', () => c.of('register').length === 2)
  assert.notEqual(c.channel, first)
  assert.equal(c.of('register')[1]?.table_version, 1)
  assert.equal(h.forwarding.size, 1, 'fail-static: the table stays while reconnecting')
  assert.equal(h.client.leaderAddress, undefined, 'the new channel has not said leader yet')
})

test('stop() closes every channel and the client does not come back', LIMIT, async () => {
  const c = await new FakeController().start()
  const h = startClient([c])
  await until('a register arrives', () => c.of('register').length === 1)
  await h.client.stop()
  await c.channel.closed
  assert.equal(h.client.connected, 0)
  assert.equal(c.channels.length, 1)
})

test('a controller address where another kind of QUIC server listens, or one holding another mesh key, is logged as an error saying why', { timeout: 90_000 }, async () => {
  const servers = [
    createQuicServer({ host: '127.0.0.1', port: 0, alpn: 'relaymesh-other/1', auth: { name: 'none', verify: async () => {} }, logger: silentLogger(), onChannel: () => {} }),
    createQuicServer({ host: '127.0.0.1', port: 0, ...controlServerChannel(Buffer.alloc(32, 4)), logger: silentLogger(), onChannel: () => {} })
  ]
  const ports: number[] = []
  for (const s of servers) {
    ports.push((await s.start()).port)
    cleanup.push(async () => { await s.stop() })
  }
  const { logger, lines } = captureLogger()
  const client = new ControlClient({ clock: systemClock, logger }, {
    id: 'a',
    advertise: { host: '127.0.0.1', port: 7001, family: 4 },
    controllers: ports.map((port) => ({ host: '127.0.0.1', port, family: 4 as const })),
    meshKey: KEY
  }, { current: () => ({ version: 0, table: new Map() }), onNeighbours: () => {}, onTable: () => {} })
  client.start()
  cleanup.push(async () => { await client.stop() })
  const refusals = (): string[] => lines.filter((l) => l.level === 50 && l.msg === 'controller refused the control channel').map((l) => String(l.err))
  const wrongAlpn = new RegExp(`^QUIC server 127\\.0\\.0\\.1:${ports[0]} does not serve 'relaymesh-control/1' channels`)
  const wrongKey = new RegExp(`^QUIC server 127\\.0\\.0\\.1:${ports[1]} refused the mesh-key handshake \\(mesh key proof failed\\); both ends must read the same --mesh-key-file$`)
  await until('both refusals are logged', () => refusals().some((e) => wrongAlpn.test(e)) && refusals().some((e) => wrongKey.test(e)), 60_000)
  assert.equal(client.connected, 0)
})

test('a controller that keeps refusing is logged as an error once, and each retry after that at debug level', LIMIT, async () => {
  const server = createQuicServer({ host: '127.0.0.1', port: 0, ...controlServerChannel(Buffer.alloc(32, 5)), logger: silentLogger(), onChannel: () => {} })
  const port = (await server.start()).port
  cleanup.push(async () => { await server.stop() })
  const { logger, lines } = captureLogger()
  const client = new ControlClient({ clock: systemClock, logger }, {
    id: 'a', advertise: { host: '127.0.0.1', port: 7001, family: 4 }, controllers: [{ host: '127.0.0.1', port, family: 4 }], meshKey: KEY
  }, { current: () => ({ version: 0, table: new Map() }), onNeighbours: () => {}, onTable: () => {} })
  client.start()
  cleanup.push(async () => { await client.stop() })
  const refusals = (level: number): number => lines.filter((l) => l.level === level && l.msg === 'controller refused the control channel').length
  await until('three more refusals, at debug level', () => refusals(20) >= 3, 20_000)
  assert.equal(refusals(50), 1)
})
