import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { writeLinkTag } from '../../src/wire/auth.js'
import { Flag, HEADER_LENGTH, OFF_SRC, OFF_SRC_BOOT, OFF_TTL, OFF_TYPE, OFF_VERSION, PacketType, Service } from '../../src/wire/constants.js'
import { PacketHeader, parseHeader, putU32, writeHeader, writeHop } from '../../src/wire/header.js'
import { MeshKeyBook } from '../../src/wire/keys.js'
import { Originator } from '../../src/wire/originator.js'
import { REASON_NAMES, Reason } from '../../src/wire/reasons.js'
import { createRelayRegistry } from '../../src/metrics.js'
import { PlaneNet, type NetRelay } from '../helpers/plane-net.js'

const scratch = new Int32Array(4)

/** a - b - c in memory, sessions up, a tunnel service registered at every relay. */
function mesh (): { net: PlaneNet, a: NetRelay, b: NetRelay, c: NetRelay, got: Map<string, Buffer[]> } {
  const net = new PlaneNet(randomBytes(32))
  const got = new Map<string, Buffer[]>()
  for (const id of ['a', 'b', 'c']) {
    const r = net.add(id)
    got.set(id, [])
    r.plane.registerService(Service.TUNNEL, (h: PacketHeader, buf: Buffer) => { got.get(id)?.push(Buffer.from(buf.subarray(HEADER_LENGTH, HEADER_LENGTH + h.payloadLength))) })
  }
  net.chain('a', 'b', 'c')
  net.start()
  net.pump()
  return { net, a: net.get('a'), b: net.get('b'), c: net.get('c'), got }
}

function send (from: NetRelay, to: NetRelay, text: string, flags = 0): Reason {
  const o = new Originator({ src: from.number, boot: from.plane.boot, micros: () => 0 })
  const payload = Buffer.from(text)
  const buf = o.begin(PacketType.DATA, to.number, Service.TUNNEL, 1, flags, 0, payload.length)
  payload.copy(buf, HEADER_LENGTH)
  return from.plane.originate(buf)
}

/** Re-tags a datagram as `from` on its link to `to` (an insider relay crafting a packet). */
function retag (from: NetRelay, to: NetRelay, buf: Buffer): Buffer {
  const s = from.plane.sessionWith(to.number)
  assert.ok(s?.current !== undefined)
  writeHop(buf, from.number, s.linkSeqOut++)
  writeLinkTag(s.current.linkTx, buf, scratch)
  return buf
}

function drops (r: NetRelay): Record<string, number> {
  const out: Record<string, number> = {}
  for (let i = 1; i < REASON_NAMES.length; i++) if (r.plane.counters.dropped[i] !== 0) out[REASON_NAMES[i]] = r.plane.counters.dropped[i]
  return out
}

test('neighbours set up link sessions, and a packet crosses a - b - c sealed end to end', () => {
  const { net, a, b, c, got } = mesh()
  assert.ok(a.plane.hasSession(b.number) && b.plane.hasSession(c.number) && !a.plane.hasSession(c.number))
  assert.equal(send(a, c, 'secret words'), Reason.OK)
  net.pump()
  assert.deepEqual(got.get('c')?.map(String), ['secret words'])
  assert.equal(b.socket.sent.filter((d) => d.buf[OFF_TYPE] === PacketType.DATA).length, 1)
  // Every datagram b sent on: none shows the payload.
  for (const d of b.socket.sent) assert.ok(!d.buf.includes('secret words'), 'transit saw the payload in clear')
  assert.deepEqual(drops(c), {})
})

test('a payload marked CLEAR travels unsealed, still under the link tags', () => {
  const { net, a, b, c, got } = mesh()
  send(a, c, 'warm')
  net.pump()
  assert.equal(send(a, c, 'already encrypted', Flag.CLEAR), Reason.OK)
  net.pump()
  assert.deepEqual(got.get('c')?.map(String), ['warm', 'already encrypted'])
  assert.ok(b.socket.sent.some((d) => d.buf.includes('already encrypted')))
})

test('packets for a destination without a session wait for the handshake, then go in order', () => {
  const { net, a, c, got } = mesh()
  for (let i = 0; i < 5; i++) assert.equal(send(a, c, `p${i}`), Reason.OK)
  assert.deepEqual(got.get('c'), [])
  net.pump()
  assert.deepEqual(got.get('c')?.map(String), ['p0', 'p1', 'p2', 'p3', 'p4'])
})

test('a datagram sent again on its link is a replay at the next hop, and is not forwarded twice', () => {
  const { net, a, b, c, got } = mesh()
  send(a, c, 'once')
  net.pump()
  const captured = a.socket.sent.filter((d) => d.buf[OFF_TYPE] === PacketType.DATA).at(-1)
  assert.ok(captured !== undefined)
  const before = b.plane.counters.forwarded
  b.plane.receive(Buffer.from(captured.buf), '127.0.0.1', a.port)
  net.pump()
  assert.equal(b.plane.counters.forwarded, before)
  assert.equal(b.plane.counters.dropped[Reason.REPLAY], 1)
  assert.deepEqual(got.get('c')?.map(String), ['once'])
})

test('a relay that forges another source on its own link is dropped at the destination', () => {
  const { net, a, b, c, got } = mesh()
  send(c, b, 'c is real')
  send(a, b, 'a is real')
  net.pump()
  // a takes its own sealed packet for b, says it comes from c (c's boot too), and tags it properly
  // for its own link to b: the link accepts it, the end-to-end seal does not.
  const mine = a.socket.sent.filter((d) => d.buf[OFF_TYPE] === PacketType.DATA).at(-1)
  assert.ok(mine !== undefined)
  const forged = Buffer.from(mine.buf)
  putU32(forged, OFF_SRC, c.number)
  putU32(forged, OFF_SRC_BOOT, c.plane.boot)
  const before = b.plane.counters.dropped[Reason.BAD_AUTH]
  b.plane.receive(retag(a, b, forged), '127.0.0.1', a.port)
  net.pump()
  assert.deepEqual(got.get('b')?.map(String), ['c is real', 'a is real'])
  assert.equal(b.plane.counters.dropped[Reason.BAD_AUTH], before + 1)
})

test('a datagram captured before a relay restarted is not accepted by the new one', () => {
  const { net, a, b, c, got } = mesh()
  send(a, c, 'before')
  net.pump()
  const captured = a.socket.sent.filter((d) => d.buf[OFF_TYPE] === PacketType.DATA).map((d) => d.buf)
  const captured2 = c.socket.sent.map((d) => d.buf)
  // c restarts: a new plane, a new boot, on the same port, a while later.
  net.now += 1000
  const c2 = net.add('c')
  c2.plane.registerService(Service.TUNNEL, () => { got.get('c')?.push(Buffer.from('delivered again')) })
  net.chain('a', 'b', 'c')
  c2.plane.start()
  net.pump()
  // Everything c's old boot sent and a's old packets for it: replayed at the new c directly and via b.
  for (const buf of captured2) b.plane.receive(Buffer.from(buf), '127.0.0.1', c2.port)
  for (const buf of b.socket.sent.filter((d) => d.buf[OFF_TYPE] === PacketType.DATA && d.port === c2.port).map((d) => d.buf)) c2.plane.receive(Buffer.from(buf), '127.0.0.1', b.port)
  for (const buf of captured) b.plane.receive(Buffer.from(buf), '127.0.0.1', a.port)
  net.pump()
  assert.deepEqual(got.get('c')?.map(String), ['before'], JSON.stringify({ b: drops(b), c2: drops(c2) }))
  // And the restarted relay gets new traffic. The first packet a seals for c's old boot is
  // refused, and makes c2 greet a; from then on a's packets reach c2.
  net.now += 1000
  send(a, c2, 'after')
  net.pump()
  send(a, c2, 'after again')
  net.pump()
  assert.deepEqual(got.get('c')?.map(String), ['before', 'delivered again'], JSON.stringify({ a: drops(a), b: drops(b), c2: drops(c2), ac: a.plane.sessionWith(c2.number)?.peerBoot, c2boot: c2.plane.boot, c1: c.plane.boot, heard: a.plane.sessionWith(c2.number)?.heard, ca: c2.plane.sessionWith(a.number)?.peerBoot, aboot: a.plane.boot, c2got: c2.plane.counters.delivered.get(1) }))
})

test('a revoked relay is cut off: nothing of its is accepted on any link', () => {
  const net = new PlaneNet(randomBytes(32))
  const key = net.meshKey
  class Revocable extends MeshKeyBook {
    revoked = new Set<number>()
    override secrets (peer: number): readonly Buffer[] { return this.revoked.has(peer) ? [] : super.secrets(peer) }
  }
  const books = new Map<string, Revocable>()
  const got: string[] = []
  for (const id of ['a', 'b', 'c']) {
    const r = net.add(id)
    const book = new Revocable(r.number, key)
    books.set(id, book)
    net.add(id, book, r.plane.boot)
    net.get(id).plane.registerService(Service.TUNNEL, (h, buf) => { got.push(buf.subarray(HEADER_LENGTH, HEADER_LENGTH + h.payloadLength).toString()) })
  }
  net.chain('a', 'b', 'c')
  net.start()
  net.pump()
  const [a, b, c] = ['a', 'b', 'c'].map((id) => net.get(id))
  send(a, c, 'admitted')
  net.pump()
  for (const id of ['b', 'c']) { books.get(id)?.revoked.add(a.number); net.get(id).plane.rekey() }
  send(a, c, 'revoked')
  send(a, b, 'revoked too')
  net.now += 10_000
  for (let i = 0; i < 5; i++) { a.plane.tick(); net.pump() }
  assert.deepEqual(got, ['admitted'])
  assert.ok(b.plane.counters.dropped[Reason.BAD_AUTH] > 0)
  assert.equal(b.plane.hasSession(a.number), false)
})

test('TTL, loops, a v1 datagram and garbage are each counted under their own reason', () => {
  const { net, a, b, c } = mesh()
  send(a, c, 'x')
  net.pump()
  const last = (): Buffer => Buffer.from((a.socket.sent.filter((d) => d.buf[OFF_TYPE] === PacketType.DATA).at(-1) as { buf: Buffer }).buf)
  const ttl1 = last(); ttl1[OFF_TTL] = 1
  b.plane.receive(retag(a, b, ttl1), '127.0.0.1', a.port)
  assert.equal(b.plane.counters.dropped[Reason.TTL_EXPIRED], 1)
  const v1 = last(); v1[OFF_VERSION] = 1
  b.plane.receive(v1, '127.0.0.1', a.port)
  assert.equal(b.plane.counters.dropped[Reason.BAD_VERSION], 1)
  b.plane.receive(randomBytes(100), '127.0.0.1', a.port)
  const short = last().subarray(0, 40)
  b.plane.receive(short, '127.0.0.1', a.port)
  assert.equal(b.plane.counters.dropped[Reason.MALFORMED] + b.plane.counters.dropped[Reason.BAD_VERSION], 3)
  // A packet of b's own coming back to it is a loop.
  send(b, c, 'y')
  const mine = Buffer.from((b.socket.sent.filter((d) => d.buf[OFF_TYPE] === PacketType.DATA).at(-1) as { buf: Buffer }).buf)
  b.plane.receive(retag(a, b, mine), '127.0.0.1', a.port)
  assert.equal(b.plane.counters.dropped[Reason.LOOP], 1)
  const h = new PacketHeader()
  assert.equal(parseHeader(mine, mine.length, h), Reason.OK)
})

test('every received packet is forwarded, delivered or dropped for exactly one reason', () => {
  const { net, a, b, c } = mesh()
  for (let i = 0; i < 20; i++) send(a, c, `seed ${i}`)
  net.pump()
  const seeds = a.socket.sent.filter((d) => d.buf[OFF_TYPE] === PacketType.DATA).map((d) => d.buf)
  let state = 12345
  const next = (): number => { state = (Math.imul(state, 1103515245) + 12345) >>> 0; return state >>> 16 }
  const k = b.plane.counters
  const total = (): number => { let n = k.forwarded; for (let r = 1; r < REASON_NAMES.length; r++) n += k.dropped[r]; return n }
  const before = k.received
  const handled = total()
  for (let i = 0; i < 2000; i++) {
    const p = Buffer.from(seeds[next() % seeds.length])
    switch (next() % 5) {
      case 0: p[next() % p.length] ^= 1 << (next() % 8); break
      case 1: retag(a, b, p); break
      case 2: p[OFF_TTL] = 1; retag(a, b, p); break
      default: break // a replay
    }
    b.plane.receive(p, '127.0.0.1', a.port)
  }
  assert.equal(k.received - before, 2000)
  assert.equal(total() - handled, 2000)
  for (const r of [Reason.BAD_AUTH, Reason.REPLAY, Reason.TTL_EXPIRED, Reason.LOOP]) assert.ok(k.dropped[r] > 0, REASON_NAMES[r])
})

test('bad_version and loop are exported under their own reasons', async () => {
  const { b } = mesh()
  const text = await createRelayRegistry(() => b.plane.counters, false).metrics()
  assert.match(text, /^relaymesh_packets_dropped_total\{reason="bad_version"\} 0$/m)
  assert.match(text, /^relaymesh_packets_dropped_total\{reason="loop"\} 0$/m)
})

test('forged direct HELLOs from made-up relays are dropped as bad_auth and leave no session behind', () => {
  const { b } = mesh()
  const before = b.plane.counters.dropped[Reason.BAD_AUTH]
  const h = new PacketHeader()
  for (let i = 0; i < 1000; i++) {
    const buf = Buffer.alloc(HEADER_LENGTH + 16 + 16)
    Object.assign(h, { type: PacketType.HELLO, flags: Flag.STATIC_LINK, trafficClass: 3, service: Service.LINK, payloadLength: 16, src: 1000 + i, dst: b.number, flow: 1, srcBoot: 7, dstBoot: 0, seq: 0, ttl: 1, hop: 1000 + i, linkSeq: 0 })
    writeHeader(buf, h)
    randomBytes(32).copy(buf, HEADER_LENGTH)
    b.plane.receive(buf, '127.0.0.1', 9)
  }
  assert.equal(b.plane.counters.dropped[Reason.BAD_AUTH] - before, 1000)
  for (let i = 0; i < 1000; i += 97) assert.equal(b.plane.sessionWith(1000 + i), undefined)
})
