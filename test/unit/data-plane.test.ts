import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { PacketAuth } from '../../src/wire/auth.js'
import { encodePacket, type PacketFields } from '../../src/wire/codec.js'
import { DEFAULT_TTL, OFF_LENGTH, OFF_TTL, PacketType, Service } from '../../src/wire/constants.js'
import type { PacketHeader } from '../../src/wire/header.js'
import { REASON_NAMES, Reason } from '../../src/wire/reasons.js'
import { relayNumber } from '../../src/wire/relay-id.js'
import { createRelayRegistry } from '../../src/metrics.js'
import { DataPlane, type MeshSocket } from '../../relay/data-plane.js'

const SELF = relayNumber('b')
const A = relayNumber('a')
const C = relayNumber('c')
const FAR = relayNumber('far')
const EPOCH = 1_700_000_000
const KEY = randomBytes(32)

/** A MeshSocket that records what the data plane sends, with a settable user-space queue. */
class FakeSocket implements MeshSocket {
  readonly sent: Array<{ buf: Buffer, port: number, host: string, ttl: number }> = []
  queued = 0
  send (buf: Buffer, port: number, host: string): void { this.sent.push({ buf: Buffer.from(buf), port, host, ttl: buf[OFF_TTL] }) }
  getSendQueueCount (): number { return this.queued }
}

interface Fixture {
  plane: DataPlane
  socket: FakeSocket
  auth: PacketAuth
  delivered: Array<{ service: number, src: number, seq: number }>
  linked: Array<{ type: number, from: string }>
  drops: (reason: Reason) => number
}

function fixture (maxSendQueue = 8): Fixture {
  const socket = new FakeSocket()
  const auth = new PacketAuth(KEY)
  const plane = new DataPlane(auth, socket, { self: SELF, maxSendQueue })
  plane.setRoutes([{ dst: C, nextHop: { id: 'c', number: C, host: '127.0.0.1', port: 7003 } }])
  const delivered: Fixture['delivered'] = []
  plane.registerService(Service.TUNNEL, (h: PacketHeader) => { delivered.push({ service: h.service, src: h.src, seq: h.seq }) })
  const linked: Fixture['linked'] = []
  plane.setLinkHandler((h, _buf, host, port) => { linked.push({ type: h.type, from: `${host}:${port}` }) })
  return { plane, socket, auth, delivered, linked, drops: (r) => plane.counters.dropped[r] }
}

function packet (auth: PacketAuth, f: Partial<PacketFields> & { seq: number }, payload = Buffer.from('hello')): Buffer {
  return encodePacket({ type: PacketType.DATA, service: Service.TUNNEL, src: A, dst: C, epoch: EPOCH, ...f }, payload, auth)
}

const rx = (x: Fixture, buf: Buffer): void => { x.plane.receive(buf, '127.0.0.1', 7001) }

/** Drops other than `except`, which must all be zero. */
function otherDrops (x: Fixture, ...except: Reason[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (let r = 1; r < REASON_NAMES.length; r++) if (!except.includes(r as Reason) && x.plane.counters.dropped[r] !== 0) out[REASON_NAMES[r]] = x.plane.counters.dropped[r]
  return out
}

test('a packet in transit is forwarded to its next hop with the TTL one lower, and counted', () => {
  const x = fixture()
  rx(x, packet(x.auth, { seq: 1, ttl: 5 }))
  assert.equal(x.socket.sent.length, 1)
  assert.deepEqual({ port: x.socket.sent[0].port, host: x.socket.sent[0].host, ttl: x.socket.sent[0].ttl }, { port: 7003, host: '127.0.0.1', ttl: 4 })
  assert.equal(x.plane.counters.forwarded, 1)
  assert.deepEqual(otherDrops(x), {})
  // The tag does not cover the TTL: the forwarded packet still verifies at the next hop.
  assert.ok(x.auth.verify(x.socket.sent[0].buf))
})

test('a packet for this relay is delivered to its service, once', () => {
  const x = fixture()
  rx(x, packet(x.auth, { seq: 1, dst: SELF }))
  assert.deepEqual(x.delivered, [{ service: Service.TUNNEL, src: A, seq: 1 }])
  assert.equal(x.plane.counters.delivered.get(Service.TUNNEL), 1)
  assert.equal(x.socket.sent.length, 0)
})

test('a truncated, extended or garbled datagram is malformed, and one with a bad tag is bad_auth', () => {
  const x = fixture()
  const good = packet(x.auth, { seq: 1 })
  rx(x, good.subarray(0, good.length - 1))
  rx(x, Buffer.concat([good, Buffer.from([0])]))
  rx(x, Buffer.alloc(10))
  const wrongLength = Buffer.from(good); wrongLength[OFF_LENGTH + 1] ^= 1
  rx(x, wrongLength)
  assert.equal(x.drops(Reason.MALFORMED), 4)
  rx(x, packet(new PacketAuth(randomBytes(32)), { seq: 2 }))
  const flipped = Buffer.from(good); flipped[flipped.length - 1] ^= 0x80
  rx(x, flipped)
  assert.equal(x.drops(Reason.BAD_AUTH), 2)
  assert.equal(x.socket.sent.length, 0)
  assert.deepEqual(otherDrops(x, Reason.MALFORMED, Reason.BAD_AUTH), {})
  // None of them moved the window: the genuine packet is still new.
  rx(x, good)
  assert.equal(x.plane.counters.forwarded, 1)
})

test('in transit, a copy with TTL 1 is ttl_expired and does not use up its sequence number', () => {
  const x = fixture()
  const p = packet(x.auth, { seq: 42 })
  const early = Buffer.from(p); early[OFF_TTL] = 1 // still verifies: the TTL is outside the tag
  rx(x, early)
  const zero = Buffer.from(p); zero[OFF_TTL] = 0
  rx(x, zero)
  assert.equal(x.drops(Reason.TTL_EXPIRED), 2)
  rx(x, p)
  assert.equal(x.plane.counters.forwarded, 1, 'the real packet is forwarded')
  assert.deepEqual(otherDrops(x, Reason.TTL_EXPIRED), {})
})

test('a packet that comes back in transit is a loop, not a replay', () => {
  const x = fixture()
  const p = packet(x.auth, { seq: 7, ttl: 10 })
  rx(x, Buffer.from(p))
  // Back again after two more hops, as round a loop.
  const back = Buffer.from(p); back[OFF_TTL] = 7
  rx(x, back)
  assert.equal(x.plane.counters.forwarded, 1)
  assert.equal(x.drops(Reason.LOOP), 1)
  assert.equal(x.drops(Reason.REPLAY), 0)
})

test('a packet bearing this relay\'s own source number is a loop in transit and a replay when addressed to it', () => {
  const x = fixture()
  rx(x, packet(x.auth, { seq: 1, src: SELF, dst: C }))
  assert.equal(x.drops(Reason.LOOP), 1)
  rx(x, packet(x.auth, { seq: 2, src: SELF, dst: SELF }))
  assert.equal(x.drops(Reason.REPLAY), 1)
  assert.equal(x.socket.sent.length, 0)
  assert.equal(x.delivered.length, 0)
})

test('at the destination a duplicate is a replay, and it is not delivered again', () => {
  const x = fixture()
  const p = packet(x.auth, { seq: 3, dst: SELF })
  rx(x, p)
  rx(x, Buffer.from(p))
  assert.equal(x.delivered.length, 1)
  assert.equal(x.drops(Reason.REPLAY), 1)
  assert.equal(x.drops(Reason.LOOP), 0)
})

test('in transit, a packet from an older epoch or behind the window is a replay, not a loop', () => {
  const x = fixture()
  rx(x, packet(x.auth, { seq: 100_000 }))
  rx(x, packet(x.auth, { seq: 1 })) // never seen, but far behind the window
  rx(x, packet(x.auth, { seq: 100_001, epoch: EPOCH - 1 }))
  assert.equal(x.plane.counters.forwarded, 1)
  assert.equal(x.drops(Reason.REPLAY), 2)
  assert.equal(x.drops(Reason.LOOP), 0)
})

test('no route and a full send queue are counted, and neither records the sequence twice', () => {
  const x = fixture(4)
  rx(x, packet(x.auth, { seq: 1, dst: FAR }))
  assert.equal(x.drops(Reason.NO_ROUTE), 1)
  x.socket.queued = 4
  rx(x, packet(x.auth, { seq: 2 }))
  assert.equal(x.drops(Reason.QUEUE_FULL), 1)
  x.socket.queued = 3
  rx(x, packet(x.auth, { seq: 3 }))
  assert.equal(x.plane.counters.forwarded, 1)
  assert.equal(x.socket.sent.length, 1)
  assert.deepEqual(otherDrops(x, Reason.NO_ROUTE, Reason.QUEUE_FULL), {})
})

test('a service nobody registered is unknown_service', () => {
  const x = fixture()
  rx(x, packet(x.auth, { seq: 1, dst: SELF, service: Service.USER_MIN }))
  assert.equal(x.drops(Reason.UNKNOWN_SERVICE), 1)
  assert.equal(x.delivered.length, 0)
})

test('probes for this relay go to the link handler once; for another relay or repeated they are dropped', () => {
  const x = fixture()
  const probe = (seq: number, dst: number): Buffer => packet(x.auth, { seq, dst, type: PacketType.PROBE, service: Service.LINK, ttl: 1 }, Buffer.alloc(8))
  const p = probe(1, SELF)
  rx(x, p)
  assert.deepEqual(x.linked, [{ type: PacketType.PROBE, from: '127.0.0.1:7001' }])
  rx(x, Buffer.from(p))
  assert.equal(x.drops(Reason.REPLAY), 1)
  rx(x, probe(2, C))
  assert.equal(x.drops(Reason.UNKNOWN_SERVICE), 1)
  assert.equal(x.drops(Reason.TTL_EXPIRED), 0, 'a link-local packet is never forwarded, so its TTL 1 is no drop')
  assert.equal(x.linked.length, 1)
  assert.equal(x.socket.sent.length, 0)
})

test('originate signs and routes a packet, or delivers it here when it is for this relay', () => {
  const x = fixture()
  const out = packet(new PacketAuth(randomBytes(32)), { seq: 1, src: SELF, dst: C })
  assert.equal(x.plane.originate(out), Reason.OK)
  assert.equal(x.socket.sent.length, 1)
  assert.equal(x.socket.sent[0].ttl, DEFAULT_TTL)
  assert.ok(x.auth.verify(x.socket.sent[0].buf), 'signed with this relay\'s key')
  assert.equal(x.plane.originate(packet(x.auth, { seq: 2, src: SELF, dst: SELF })), Reason.OK)
  assert.equal(x.delivered.length, 1)
  assert.equal(x.plane.originate(packet(x.auth, { seq: 3, src: SELF, dst: FAR })), Reason.NO_ROUTE)
  assert.equal(x.plane.counters.originated, 3)
})

test('every received packet is forwarded, delivered or dropped for exactly one reason', () => {
  const x = fixture()
  const wrong = new PacketAuth(randomBytes(32))
  let seq = 1
  const kinds = [
    () => packet(x.auth, { seq: seq++ }),
    () => packet(x.auth, { seq: seq++, dst: SELF }),
    () => packet(x.auth, { seq: seq++, dst: FAR }),
    () => packet(x.auth, { seq: seq++, ttl: 1 }),
    () => packet(x.auth, { seq: seq++, src: SELF }),
    () => packet(wrong, { seq: seq++ }),
    () => packet(x.auth, { seq: seq++ }).subarray(0, 30),
    () => packet(x.auth, { seq: Math.max(1, seq - 3) }), // often a duplicate
    () => packet(x.auth, { seq: Math.max(1, seq - 3), dst: SELF })
  ]
  let state = 12345
  const next = (): number => { state = (Math.imul(state, 1103515245) + 12345) >>> 0; return state >>> 16 }
  for (let i = 0; i < 2000; i++) rx(x, kinds[next() % kinds.length]())
  const c = x.plane.counters
  let dropped = 0
  for (let r = 1; r < REASON_NAMES.length; r++) dropped += c.dropped[r]
  assert.equal(c.received, 2000)
  assert.equal(c.forwarded + (c.delivered.get(Service.TUNNEL) ?? 0) + dropped, c.received)
  for (const r of [Reason.MALFORMED, Reason.BAD_AUTH, Reason.TTL_EXPIRED, Reason.NO_ROUTE, Reason.LOOP, Reason.REPLAY]) assert.ok(c.dropped[r] > 0, REASON_NAMES[r])
})

test('loops are exported as relaymesh_packets_dropped_total{reason="loop"}, apart from replays', async () => {
  const x = fixture()
  const p = packet(x.auth, { seq: 9 })
  rx(x, p); rx(x, Buffer.from(p)); rx(x, Buffer.from(p))
  const text = await createRelayRegistry(() => x.plane.counters, false).metrics()
  assert.match(text, /^relaymesh_packets_dropped_total\{reason="loop"\} 2$/m)
  assert.match(text, /^relaymesh_packets_dropped_total\{reason="replay"\} 0$/m)
})
