import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import {
  AEAD_TAG_LENGTH, E2E_HEADER, HEADER_LENGTH, MAX_PAYLOAD, OFF_FLAGS, OFF_HOP_RESERVED, OFF_LENGTH, OFF_RESERVED,
  OFF_SEQ_HI, OFF_SERVICE, OFF_SRC, OFF_TYPE, OFF_VERSION, PacketHeader, PacketType, Reason, TAG_LENGTH, checkLinkTag,
  parseHeader, sipKeyFromBytes, writeHeader, writeLinkTag
} from '../../src/wire/index.js'
import { payloadAead, payloadKey, type PayloadAeadImpl } from '../../src/wire/seal.js'

const linkKey = sipKeyFromBytes(randomBytes(16))
const scratch = new Int32Array(4)

interface Fields { type: number, flags: number, trafficClass: number, ttl: number, service: number, src: number, dst: number, flow: number, srcBoot: number, dstBoot: number, seq: number, flowSeq: number, plane: number, timestamp: number, deadline: number, hop: number, linkSeq: number }

function build (f: Fields, payload: Uint8Array, key = linkKey): Buffer {
  const buf = Buffer.alloc(HEADER_LENGTH + payload.length + TAG_LENGTH)
  const h = Object.assign(new PacketHeader(), f, { payloadLength: payload.length })
  writeHeader(buf, h)
  buf.set(payload, HEADER_LENGTH)
  writeLinkTag(key, buf, scratch)
  return buf
}

const sample: Fields = { type: PacketType.DATA, flags: 0, trafficClass: 2, ttl: 9, service: 1025, src: 0xdeadbeef, dst: 5, flow: 0xffffffff, srcBoot: 0xfffffffe, dstBoot: 7, seq: 2 ** 52 + 3, flowSeq: 11, plane: 1, timestamp: 123456, deadline: 250, hop: 77, linkSeq: 2 ** 40 + 1 }

function reasonOf (buf: Buffer, key = linkKey): Reason {
  const h = new PacketHeader()
  const r = parseHeader(buf, buf.length, h)
  if (r !== Reason.OK) return r
  return checkLinkTag(key, buf, scratch) ? Reason.OK : Reason.BAD_AUTH
}

test('writeHeader then parseHeader returns every field, and the link tag verifies', () => {
  const buf = build(sample, randomBytes(200))
  const h = new PacketHeader()
  assert.equal(parseHeader(buf, buf.length, h), Reason.OK)
  for (const [k, v] of Object.entries(sample)) assert.equal(h[k as keyof PacketHeader], v, k)
  assert.equal(h.payloadLength, 200)
  assert.ok(checkLinkTag(linkKey, buf, scratch))
  assert.ok(!checkLinkTag(sipKeyFromBytes(randomBytes(16)), buf, scratch), 'another link key fails')
})

test('round trip holds for arbitrary header fields and payloads', () => {
  fc.assert(fc.property(
    fc.record({
      type: fc.integer({ min: 1, max: 5 }),
      flags: fc.integer({ min: 0, max: 3 }),
      trafficClass: fc.integer({ min: 0, max: 255 }),
      ttl: fc.integer({ min: 0, max: 255 }),
      service: fc.integer({ min: 1, max: 65535 }),
      src: fc.integer({ min: 1, max: 0xffffffff }),
      dst: fc.integer({ min: 1, max: 0xffffffff }),
      flow: fc.integer({ min: 0, max: 0xffffffff }),
      srcBoot: fc.integer({ min: 1, max: 0xffffffff }),
      dstBoot: fc.integer({ min: 0, max: 0xffffffff }),
      seq: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      flowSeq: fc.integer({ min: 0, max: 0xffffffff }),
      plane: fc.integer({ min: 0, max: 255 }),
      timestamp: fc.integer({ min: 0, max: 0xffffffff }),
      deadline: fc.integer({ min: 0, max: 0xffff }),
      hop: fc.integer({ min: 1, max: 0xffffffff }),
      linkSeq: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })
    }),
    fc.uint8Array({ maxLength: MAX_PAYLOAD }),
    (f, payload) => {
      const buf = build(f, payload)
      const h = new PacketHeader()
      assert.equal(parseHeader(buf, buf.length, h), Reason.OK)
      for (const [k, v] of Object.entries(f)) assert.equal(h[k as keyof PacketHeader], v, k)
      assert.deepEqual(new Uint8Array(buf.subarray(HEADER_LENGTH, HEADER_LENGTH + h.payloadLength)), payload)
    }
  ), { numRuns: 300 })
})

test('any single bit flip, TTL and per-hop fields included, fails parse or the link tag', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(), fc.integer({ min: 0, max: 7 }), (payload, at, bit) => {
    const buf = build(sample, payload)
    const i = at % buf.length
    buf[i] ^= 1 << bit
    assert.notEqual(reasonOf(buf), Reason.OK, `flip at byte ${i} bit ${bit}`)
  }), { numRuns: 500 })
})

test('a v1 datagram, or any version but 2, is bad_version', () => {
  const buf = build(sample, randomBytes(20))
  for (const v of [0, 1, 3, 255]) {
    const b = Buffer.from(buf)
    b[OFF_VERSION] = v
    assert.equal(reasonOf(b), Reason.BAD_VERSION, `version ${v}`)
  }
})

test('each malformed header is rejected as malformed', () => {
  const base = build(sample, randomBytes(20))
  const cases: Array<[string, (b: Buffer) => Buffer]> = [
    ['truncated', (b) => b.subarray(0, HEADER_LENGTH + TAG_LENGTH - 1)],
    ['extended', (b) => Buffer.concat([b, Buffer.alloc(1)])],
    ['type 0', (b) => { b[OFF_TYPE] = 0; return b }],
    ['type 7', (b) => { b[OFF_TYPE] = 7; return b }],
    ['unknown flag', (b) => { b[OFF_FLAGS] = 0x80; return b }],
    ['reserved', (b) => { b[OFF_RESERVED + 1] = 1; return b }],
    ['hop reserved', (b) => { b[OFF_HOP_RESERVED] = 1; return b }],
    ['service 0', (b) => { b.writeUInt16BE(0, OFF_SERVICE); return b }],
    ['source 0', (b) => { b.writeUInt32BE(0, OFF_SRC); return b }],
    ['length past the end', (b) => { b.writeUInt16BE(21, OFF_LENGTH); return b }],
    ['sequence ≥ 2^53', (b) => { b.writeUInt32BE(1 << 21, OFF_SEQ_HI); return b }]
  ]
  for (const [name, f] of cases) assert.equal(reasonOf(f(Buffer.from(base))), Reason.MALFORMED, name)
})

/** Both payload AEADs where the native one is built; under RELAYMESH_REQUIRE_NATIVE=1 it must be. */
const impls: PayloadAeadImpl[] = payloadAead.impl === 'native' ? ['native', 'node:crypto'] : ['node:crypto']

test(`the payload AEAD in use is ${payloadAead.impl}${payloadAead.unavailable === undefined ? '' : ` (native: ${payloadAead.unavailable})`}`, () => {
  if (process.env.RELAYMESH_REQUIRE_NATIVE === '1') assert.equal(payloadAead.impl, 'native')
  assert.equal(payloadKey(randomBytes(16)).impl, payloadAead.impl)
})

for (const impl of impls) {
  test(`${impl}: a sealed payload opens under its key only, and any change to it or the end-to-end header fails, leaving it untouched`, () => {
    const key = payloadKey(randomBytes(16), impl)
    const plain = randomBytes(100)
    const fresh = (): Buffer => {
      const buf = build(sample, Buffer.concat([plain, Buffer.alloc(AEAD_TAG_LENGTH)]))
      key.seal(buf, plain.length)
      return buf
    }
    const sealed = fresh()
    assert.notDeepEqual(sealed.subarray(HEADER_LENGTH, HEADER_LENGTH + plain.length), plain, 'encrypted in place')
    const ok = Buffer.from(sealed)
    assert.ok(key.open(ok, plain.length + AEAD_TAG_LENGTH))
    assert.deepEqual(ok.subarray(HEADER_LENGTH, HEADER_LENGTH + plain.length), plain)
    const other = Buffer.from(sealed)
    assert.ok(!payloadKey(randomBytes(16), impl).open(other, plain.length + AEAD_TAG_LENGTH), 'another key')
    assert.deepEqual(other, sealed, 'a failed open leaves the packet as it was (the data plane then tries the previous key)')
    for (const at of [0, 8, 20, 28, 35, E2E_HEADER - 1, HEADER_LENGTH, HEADER_LENGTH + plain.length + 3]) {
      const b = Buffer.from(sealed)
      b[at] ^= 1
      assert.ok(!key.open(b, plain.length + AEAD_TAG_LENGTH), `flip at ${at}`)
    }
    assert.ok(!key.open(Buffer.from(sealed), AEAD_TAG_LENGTH - 1), 'shorter than a tag')
    // The per-hop part is outside the AEAD: a hop rewrites it.
    const hopChanged = Buffer.from(sealed)
    hopChanged[E2E_HEADER] ^= 1
    assert.ok(key.open(hopChanged, plain.length + AEAD_TAG_LENGTH))
  })
}

test('the native and node:crypto AEADs seal the same bytes, and each opens what the other sealed', { skip: payloadAead.impl !== 'native' && process.env.RELAYMESH_REQUIRE_NATIVE !== '1' ? 'the native AEAD is not built' : false }, () => {
  const raw = randomBytes(16)
  const a = payloadKey(raw, 'native')
  const b = payloadKey(raw, 'node:crypto')
  for (const size of [0, 1, 15, 16, 17, 256, 1200]) {
    const plain = randomBytes(size)
    const x = build(sample, Buffer.concat([plain, Buffer.alloc(AEAD_TAG_LENGTH)]))
    x.writeUInt32BE(size + 1, OFF_SEQ_HI + 4)
    const y = Buffer.from(x)
    a.seal(x, size)
    b.seal(y, size)
    assert.deepEqual(x, y, `${size} bytes`)
    assert.ok(b.open(x, size + AEAD_TAG_LENGTH) && a.open(y, size + AEAD_TAG_LENGTH))
    assert.deepEqual(x.subarray(HEADER_LENGTH, HEADER_LENGTH + size), plain)
    assert.deepEqual(y.subarray(HEADER_LENGTH, HEADER_LENGTH + size), plain)
  }
})
