import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { siphash128, sipKeyFromBytes } from '../../src/wire/siphash.js'

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
