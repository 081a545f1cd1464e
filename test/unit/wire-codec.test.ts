import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import {
  DEFAULT_TTL, HEADER_LENGTH, MAX_PAYLOAD, OFF_FLAGS, OFF_KEY_ID, OFF_LENGTH, OFF_RESERVED, OFF_SEQ_HI,
  OFF_SERVICE, OFF_SRC, OFF_TTL, OFF_TYPE, OFF_VERSION, PacketAuth, PacketHeader, PacketType, Reason,
  TAG_LENGTH, WireError, decodePacket, encodePacket, parseHeader
} from '../../src/wire/index.js'

const auth = new PacketAuth(randomBytes(32))

function sample (payload = Buffer.from('hello mesh')): Buffer {
  return encodePacket({ type: PacketType.DATA, service: 1, src: 11, dst: 22, flow: 7, epoch: 1_700_000_000, seq: 42, timestamp: 99 }, payload, auth)
}

function reasonOf (buf: Buffer, a = auth): Reason {
  const h = new PacketHeader()
  const r = parseHeader(buf, buf.length, h)
  if (r !== Reason.OK) return r
  return a.verify(buf) ? Reason.OK : Reason.BAD_AUTH
}

test('encode then decode returns every header field and the payload', () => {
  const fields = { type: PacketType.DATA, flags: 0, trafficClass: 3, ttl: 9, service: 1025, src: 0xdeadbeef, dst: 5, flow: 0xffffffff, epoch: 0xfffffffe, seq: 2 ** 52 + 3, timestamp: 123456 }
  const payload = randomBytes(200)
  const d = decodePacket(encodePacket(fields, payload, auth), auth)
  for (const [k, v] of Object.entries(fields)) assert.equal(d.header[k as keyof PacketHeader], v, k)
  assert.equal(d.header.keyId, auth.keyId)
  assert.deepEqual(d.payload, payload)
})

test('round trip holds for arbitrary header fields and payloads', () => {
  fc.assert(fc.property(
    fc.record({
      type: fc.integer({ min: 1, max: 4 }),
      flags: fc.constant(0),
      trafficClass: fc.integer({ min: 0, max: 255 }),
      ttl: fc.integer({ min: 0, max: 255 }),
      service: fc.integer({ min: 1, max: 65535 }),
      src: fc.integer({ min: 1, max: 0xffffffff }),
      dst: fc.integer({ min: 1, max: 0xffffffff }),
      flow: fc.integer({ min: 0, max: 0xffffffff }),
      epoch: fc.integer({ min: 0, max: 0xffffffff }),
      seq: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      timestamp: fc.integer({ min: 0, max: 0xffffffff })
    }),
    fc.uint8Array({ maxLength: MAX_PAYLOAD }),
    (f, payload) => {
      const buf = encodePacket(f, payload, auth)
      assert.equal(buf.length, HEADER_LENGTH + payload.length + TAG_LENGTH)
      const d = decodePacket(buf, auth)
      for (const [k, v] of Object.entries(f)) assert.equal(d.header[k as keyof PacketHeader], v, k)
      assert.deepEqual(new Uint8Array(d.payload), payload)
    }
  ), { numRuns: 300 })
})

test('any single bit flip outside the TTL byte fails parse or auth', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(), fc.integer({ min: 0, max: 7 }), (payload, at, bit) => {
    const buf = encodePacket({ type: 1, service: 1, src: 1, dst: 2, epoch: 1, seq: 1 }, payload, auth)
    const i = at % buf.length
    fc.pre(i !== OFF_TTL)
    buf[i] ^= 1 << bit
    assert.notEqual(reasonOf(buf), Reason.OK)
  }), { numRuns: 2000 })
})

test('the tag ignores the TTL byte, so transit hops verify without re-signing', () => {
  const buf = sample()
  buf[OFF_TTL] = 1
  assert.equal(reasonOf(buf), Reason.OK)
  assert.equal(decodePacket(buf, auth).header.ttl, 1)
})

test('each malformed header is rejected as malformed', () => {
  const cases: Array<[string, (b: Buffer) => Buffer]> = [
    ['empty datagram', () => Buffer.alloc(0)],
    ['shorter than header plus tag', (b) => b.subarray(0, HEADER_LENGTH + TAG_LENGTH - 1)],
    ['truncated payload', (b) => b.subarray(0, b.length - 1)],
    ['trailing byte', (b) => Buffer.concat([b, Buffer.alloc(1)])],
    ['version 2', (b) => { b[OFF_VERSION] = 2; return b }],
    ['type 0', (b) => { b[OFF_TYPE] = 0; return b }],
    ['type 9', (b) => { b[OFF_TYPE] = 9; return b }],
    ['unknown flag bit', (b) => { b[OFF_FLAGS] = 0x80; return b }],
    ['reserved bits set', (b) => { b[OFF_RESERVED + 1] = 1; return b }],
    ['service 0', (b) => { b.writeUInt16BE(0, OFF_SERVICE); return b }],
    ['source relay 0', (b) => { b.writeUInt32BE(0, OFF_SRC); return b }],
    ['absurd payload length', (b) => { b.writeUInt16BE(0xffff, OFF_LENGTH); return b }],
    ['sequence beyond 2^53', (b) => { b.writeUInt32BE(0xffffffff, OFF_SEQ_HI); return b }]
  ]
  for (const [name, mutate] of cases) {
    assert.equal(reasonOf(mutate(sample())), Reason.MALFORMED, name)
  }
})

test('a packet signed with another mesh key is rejected as bad_auth', () => {
  const other = new PacketAuth(randomBytes(32))
  const buf = encodePacket({ type: 1, service: 1, src: 1, dst: 2, epoch: 1, seq: 1 }, Buffer.from('x'), other)
  assert.equal(reasonOf(buf), Reason.BAD_AUTH)
  assert.throws(() => decodePacket(buf, auth), (err: unknown) => err instanceof WireError && err.reason === Reason.BAD_AUTH && /^bad_auth/.test(err.message))
})

test('an unknown key id is rejected as bad_auth, and a second accepted key verifies', () => {
  const oldKey = randomBytes(32)
  const rolling = new PacketAuth(randomBytes(32), [oldKey])
  const fromOld = encodePacket({ type: 1, service: 1, src: 1, dst: 2, epoch: 1, seq: 1 }, Buffer.from('x'), new PacketAuth(oldKey))
  assert.equal(reasonOf(fromOld, rolling), Reason.OK)
  const buf = sample()
  buf[OFF_KEY_ID] ^= 0xff
  assert.equal(reasonOf(buf), Reason.BAD_AUTH)
})

test('decodePacket names the reason in a WireError instead of crashing', () => {
  assert.throws(() => decodePacket(Buffer.from([1, 2, 3]), auth), (err: unknown) => err instanceof WireError && err.reason === Reason.MALFORMED)
})

test('encodePacket defaults the TTL and refuses an oversized payload', () => {
  assert.equal(decodePacket(sample(), auth).header.ttl, DEFAULT_TTL)
  assert.throws(() => encodePacket({ type: 1, service: 1, src: 1, dst: 2, epoch: 1, seq: 1 }, Buffer.alloc(MAX_PAYLOAD + 1), auth), TypeError)
})
