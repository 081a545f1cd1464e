import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { siphash128, sipKeyFromBytes } from '../../src/wire/siphash.js'
import { native, nativeUnavailable } from '../../src/wire/native.js'

// Test vectors of the SipHash reference implementation (vectors_sip128 in its vectors.h):
// key 00 01 .. 0f, message 00 01 .. (len-1).
const VECTORS: Array<[number, string]> = [
  [0, 'a3817f04ba25a8e66df67214c7550293'],
  [1, 'da87c1d86b99af44347659119b22fc45'],
  [7, 'a1f1ebbed8dbc153c0b84aa61ff08239'],
  [8, '3b62a9ba6258f5610f83e264f31497b4'],
  [15, '5493e99933b0a8117e08ec0f97cfc3d9'],
  [63, '5150d1772f50834a503e069a973fbd7c']
]

const hex = (w: Int32Array): string => Buffer.from(w.buffer, w.byteOffset, 16).toString('hex')

test('siphash128 matches the reference test vectors', () => {
  const key = sipKeyFromBytes(Uint8Array.from({ length: 16 }, (_, i) => i))
  const msg = Uint8Array.from({ length: 64 }, (_, i) => i)
  const out = new Int32Array(4)
  for (const [len, want] of VECTORS) {
    siphash128(key, msg, 0, len, out)
    assert.equal(hex(out), want, `length ${len}`)
  }
})

test('siphash128 hashes a sub-range exactly like a copy of it', () => {
  const key = sipKeyFromBytes(randomBytes(16))
  const buf = randomBytes(300)
  const a = new Int32Array(4); const b = new Int32Array(4)
  for (const [off, len] of [[0, 0], [3, 17], [100, 200], [299, 1]]) {
    siphash128(key, buf, off, len, a)
    siphash128(key, Buffer.from(buf.subarray(off, off + len)), 0, len, b)
    assert.deepEqual(a, b)
  }
})

test('the native link tag is the same SipHash-2-4-128 for every length, and its check refuses a flipped bit', { skip: native === undefined && process.env.RELAYMESH_REQUIRE_NATIVE !== '1' ? `the native addon is not built (${nativeUnavailable ?? ''})` : false }, () => {
  const tag = native?.linkTag
  assert.ok(tag !== undefined, `RELAYMESH_REQUIRE_NATIVE=1 but the native addon is missing: ${nativeUnavailable ?? ''}`)
  const out = new Int32Array(4)
  for (let len = 0; len < 300; len++) {
    const key = sipKeyFromBytes(randomBytes(16))
    const buf = randomBytes(len + 16)
    siphash128(key, buf, 0, len, out)
    tag(key, buf, len, false)
    assert.deepEqual(buf.subarray(len, len + 16), Buffer.from(out.buffer), `${len} bytes`)
    assert.ok(tag(key, buf, len, true))
    buf[len + (len % 16)] ^= 1
    assert.equal(tag(key, buf, len, true), false, `a flipped tag bit, ${len} bytes`)
    if (len > 0) {
      buf[len + (len % 16)] ^= 1
      buf[len - 1] ^= 0x80
      assert.equal(tag(key, buf, len, true), false, `a flipped message bit, ${len} bytes`)
    }
  }
  // A plain Uint8Array at an offset into a larger buffer, as well as a Buffer.
  const key = sipKeyFromBytes(randomBytes(16))
  const big = randomBytes(64)
  const view = new Uint8Array(big.buffer, big.byteOffset + 8, 40)
  siphash128(key, view, 0, 24, out)
  tag(key, view, 24, false)
  assert.deepEqual(Buffer.from(view.subarray(24, 40)), Buffer.from(out.buffer))
  // A datagram with no room for its tag fails the check instead of throwing.
  assert.equal(tag(key, view, 30, true), false)
})
