import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { after, test } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { Controller, type ControllerInit } from '../../controller/controller.js'
import { ADDRESS_CHECK_RESEND_MS, ADDRESS_CHECK_TIMEOUT_MS } from '../../controller/address-checks.js'
import { RELAY_EXPIRY_SWEEP_MS } from '../../controller/constants.js'
import { addressCheckNonce } from '../../src/control/address-check.js'
import { controlClientChannel } from '../../src/control/control-channel.js'
import { identityClientAuth } from '../../src/control/identity-auth.js'
import { Identity } from '../../src/identity.js'
import { CONTROL_PROTOCOL_VERSION } from '../../src/control/messages.js'
import { linkToWire } from '../../src/control/report-codec.js'
import { silentLogger } from '../../src/logging.js'
import { Keys } from '../../src/store/keys.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { connectQuic, type Channel, type ClientAuth } from '../../src/transport/quic/channel.js'
import { ManualClock } from '../helpers/manual-clock.js'

/**
 * The controller against hand-written relays over real QUIC, with a manual clock for the
 * controller's own timers (QUIC keeps real time): what it refuses, skips and forgets.
 */

const KEY = Buffer.alloc(32, 7)
const LIMIT = { timeout: 30_000 }
const EXPIRY_MS = 10_000

const cleanup: Array<() => Promise<void>> = []
after(async () => { for (const c of cleanup.reverse()) await c() })

async function startController (init: Partial<ControllerInit> = {}): Promise<{ c: Controller, clock: ManualClock, store: MemoryStore }> {
  const clock = new ManualClock()
  const store = new MemoryStore(clock)
  const c = new Controller({ clock, logger: silentLogger(), store }, {
    // The fake relays here have no mesh socket: the address check has a test of its own, below.
    control: { host: '127.0.0.1', port: 0, family: 4 }, meshKey: KEY, instanceId: 'test', relayExpiryMs: EXPIRY_MS, addressCheck: false, ...init
  })
  await c.start()
  cleanup.push(async () => { await c.stop() })
  return { c, clock, store }
}

interface FakeRelay { ch: Channel, got: Array<Record<string, unknown>> }

/** `auth`: the relay's side of the handshake, the mesh-key one by default. */
async function fakeRelay (c: Controller, id: string, address: string, auth?: ClientAuth): Promise<FakeRelay> {
  const port = c.address?.port ?? 0
  const channel = controlClientChannel(KEY)
  const ch = await connectQuic({ host: '127.0.0.1', port, ...channel, ...(auth === undefined ? {} : { auth }), logger: silentLogger() })
  cleanup.push(async () => { await ch.close() })
  const got: Array<Record<string, unknown>> = []
  ch.on('message', (m) => { got.push(m as Record<string, unknown>) })
  await ch.send({ type: 'register', protocol: CONTROL_PROTOCOL_VERSION, id, address, boot: `boot-${id}-0000`, caps: [], table_version: 0, table: [] })
  return { ch, got }
}

async function until (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`)
    await delay(10)
  }
}

async function metric (c: Controller, name: string, labels = ''): Promise<number> {
  const text = await c.metrics.registry.metrics()
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `))
  return line === undefined ? 0 : Number(line.split(' ')[1])
}

function link (peer: string): unknown[] {
  return linkToWire({ peer, up: true, rtt_ms: 2, jitter_ms: 0, loss: 0, loss_short: 0, samples: 10 })
}

async function refusal (r: FakeRelay): Promise<string> {
  await until('the controller refuses', () => r.got.some((m) => m.type === 'refuse'))
  await r.ch.closed
  return String(r.got.find((m) => m.type === 'refuse')?.reason)
}

test('a register with a bad id, port 0, or a third party\'s address is refused with a reason naming it', LIMIT, async () => {
  const { c } = await startController()
  assert.match(await refusal(await fakeRelay(c, '_x', '127.0.0.1:7001')), /relay id '_x' is invalid; use 1-63 letters.*--id/)
  assert.match(await refusal(await fakeRelay(c, 'a', '127.0.0.1:0')), /advertised address '127.0.0.1:0' has port 0, outside 1-65535/)
  assert.match(await refusal(await fakeRelay(c, 'a', '192.0.2.7:7001')), /advertised address 192.0.2.7:7001 is not the address this relay connects from \(127.0.0.1\).*--advertise-allow/)
  assert.equal(await metric(c, 'relaymesh_controller_refused_total', '{reason="bad_advertise"}'), 1)
  assert.equal(await metric(c, 'relaymesh_controller_refused_total', '{reason="invalid_message"}'), 2)
  assert.deepEqual(c.snapshot().relays, [])
})

test('a register is taken only once the advertised address returns the UDP check\'s nonce; silence or a wrong nonce is refused', LIMIT, async () => {
  const { c, clock } = await startController({ addressCheck: true })
  // A relay's mesh socket: it answers the check over its control channel, as the data plane does.
  const mesh = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => { mesh.bind(0, '127.0.0.1', resolve) })
  cleanup.push(async () => { mesh.close() })
  const a = await fakeRelay(c, 'a', `127.0.0.1:${mesh.address().port}`)
  const nonce = await new Promise<Buffer>((resolve) => { mesh.once('message', (m) => { resolve(addressCheckNonce(m) as Buffer) }) })
  assert.ok(nonce !== undefined, 'the datagram is an address check')
  assert.ok(!a.got.some((m) => m.type === 'welcome'), 'no welcome before the answer')
  await a.ch.send({ type: 'address', nonce: nonce.toString('base64') })
  await until('a is welcomed', () => a.got.some((m) => m.type === 'welcome'))
  assert.deepEqual(c.snapshot().relays.map((x) => x.id), ['a'])
  // b advertises an address nobody answers at; c answers with a nonce of its own making.
  const b = await fakeRelay(c, 'b', '127.0.0.1:9')
  const other = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => { other.bind(0, '127.0.0.1', resolve) })
  cleanup.push(async () => { other.close() })
  const d = await fakeRelay(c, 'd', `127.0.0.1:${other.address().port}`)
  await d.ch.send({ type: 'address', nonce: Buffer.alloc(16, 1).toString('base64') })
  await delay(100)
  clock.advance(ADDRESS_CHECK_TIMEOUT_MS + ADDRESS_CHECK_RESEND_MS)
  assert.match(await refusal(b), /no answer from 127\.0\.0\.1:9 to the UDP address check.*--listen socket receives UDP/)
  assert.match(await refusal(d), /no answer from 127\.0\.0\.1:\d+ to the UDP address check/)
  assert.equal(await metric(c, 'relaymesh_controller_refused_total', '{reason="bad_advertise"}'), 2)
  assert.deepEqual(c.snapshot().relays.map((x) => x.id), ['a'])
})

test('with identities, a relay registers only under the id its key is listed under', LIMIT, async () => {
  const own = Identity.generate()
  const [keyA, keyB] = [Identity.generate(), Identity.generate()]
  const { c } = await startController({ identity: { own, relayKeys: new Map([['a', [keyA.public]], ['b', [keyB.public]]]) } })
  // a's key, claiming to be b: refused, though the key itself is on the list.
  assert.match(await refusal(await fakeRelay(c, 'b', '127.0.0.1:7002', identityClientAuth(keyA, own.public))), /register names relay 'b' but this connection proved the key listed for 'a'/)
  assert.equal(await metric(c, 'relaymesh_controller_refused_total', '{reason="wrong_identity"}'), 1)
  const a = await fakeRelay(c, 'a', '127.0.0.1:7001', identityClientAuth(keyA, own.public))
  await until('a is welcomed', () => a.got.some((m) => m.type === 'welcome'))
  assert.deepEqual(c.snapshot().relays.map((x) => x.id), ['a'])
  // The mesh key alone no longer gets a relay in.
  await assert.rejects(fakeRelay(c, 'b', '127.0.0.1:7002'))
})

test('a relay taken off the allow-list is revoked: its channel closes, it is forgotten with its routes, and its key no longer gets in', LIMIT, async () => {
  const own = Identity.generate()
  const [keyA, keyB] = [Identity.generate(), Identity.generate()]
  const { c, clock } = await startController({ identity: { own, relayKeys: new Map([['a', [keyA.public]], ['b', [keyB.public]]]) } })
  const a = await fakeRelay(c, 'a', '127.0.0.1:7001', identityClientAuth(keyA, own.public))
  const b = await fakeRelay(c, 'b', '127.0.0.1:7002', identityClientAuth(keyB, own.public))
  await a.ch.send({ type: 'report', report: { relay: 'a', seq: 1, trigger: 'state', links: [link('b')] } })
  await b.ch.send({ type: 'report', report: { relay: 'b', seq: 1, trigger: 'state', links: [link('a')] } })
  await until('a is sent a route to b', async () => {
    // The fake relays never ack: keep the controller's time going through its rounds.
    clock.advance(100)
    return c.installedTables().get('a')?.has('b') === true
  })
  assert.deepEqual(c.setRelayKeys(new Map([['a', [keyA.public]]])), ['b'])
  assert.match(await refusal(b), /the key relay 'b' proved is no longer on the allow-list \(revoked\)/)
  assert.equal(await metric(c, 'relaymesh_controller_refused_total', '{reason="revoked"}'), 1)
  assert.deepEqual(c.snapshot().relays.map((x) => x.id), ['a'])
  await until('a\'s route to b is withdrawn', async () => {
    clock.advance(100)
    return c.installedTables().get('a')?.has('b') === false
  })
  await assert.rejects(fakeRelay(c, 'b', '127.0.0.1:7002', identityClientAuth(keyB, own.public)), /unknown relay key/)
  assert.equal(a.ch.isClosed, false, 'a stays')
})

test('--advertise-allow admits an address the relay does not connect from', LIMIT, async () => {
  const { c } = await startController({ advertiseAllow: ['192.0.2.0/24'] })
  const r = await fakeRelay(c, 'a', '192.0.2.7:7001')
  await until('a is welcomed', () => r.got.some((m) => m.type === 'welcome'))
  assert.deepEqual(c.snapshot().relays.map((x) => x.address), ['192.0.2.7:7001'])
})

test('a report link to a bad peer id is skipped and counted; the rest of the report applies', LIMIT, async () => {
  const { c } = await startController()
  const a = await fakeRelay(c, 'a', '127.0.0.1:7001')
  await fakeRelay(c, 'b', '127.0.0.1:7002')
  await until('both registered', () => c.snapshot().relays.length === 2)
  await a.ch.send({ type: 'report', report: { relay: 'a', seq: 1, trigger: 'state', links: [link('_x'), link('b')] } })
  await until('a>b is in the graph', () => c.graph.hasLink('a', 'b'))
  assert.equal(c.graph.hasRelay('_x'), false)
  assert.equal(await metric(c, 'relaymesh_controller_entries_skipped_total', '{message="report"}'), 1)
  assert.equal(a.ch.isClosed, false, 'the channel stays open')
})

test('a relay disconnected past the expiry disappears with its links and routes, from the store too', LIMIT, async () => {
  const { c, clock, store } = await startController()
  const a = await fakeRelay(c, 'a', '127.0.0.1:7001')
  const b = await fakeRelay(c, 'b', '127.0.0.1:7002')
  await until('both registered', () => c.snapshot().relays.length === 2)
  await a.ch.send({ type: 'report', report: { relay: 'a', seq: 1, trigger: 'state', links: [link('b')] } })
  await b.ch.send({ type: 'report', report: { relay: 'b', seq: 1, trigger: 'state', links: [link('a')] } })
  await until('both links are in', () => c.snapshot().links.length === 2)
  assert.ok(c.snapshot().routes.a?.b !== undefined, 'a routes to b')

  await b.ch.close()
  await until('b is seen offline', () => c.snapshot().relays.find((r) => r.id === 'b')?.up === false)
  clock.advance(EXPIRY_MS - 1)
  assert.equal(c.snapshot().relays.length, 2, 'b is kept before the expiry')
  // b's links still look up (nobody reported them down), so a was given a route to b.
  await until('a is sent a route to b', () => c.installedTables().get('a')?.has('b') === true)
  clock.advance(RELAY_EXPIRY_SWEEP_MS + 1)
  // The fake relays never ack, so the controller's rounds wait out their timeouts: keep its time going.
  await until('the route to b is withdrawn from a', () => {
    clock.advance(50)
    return c.installedTables().get('a')?.has('b') === false
  })
  const snap = c.snapshot()
  assert.deepEqual(snap.relays.map((r) => r.id), ['a'])
  assert.deepEqual(snap.links, [])
  assert.equal(snap.routes.a?.b, undefined)
  assert.equal(c.installedTables().has('b'), false)
  assert.equal(await metric(c, 'relaymesh_controller_relays_expired_total'), 1)
  await until('the store forgets b', async () => !Object.hasOwn(await store.hgetall(Keys.relays), 'b'))
  assert.equal(Object.hasOwn(await store.hgetall(Keys.links), 'b'), false)
  assert.equal(Object.hasOwn(await store.hgetall(Keys.relays), 'a'), true)
})
