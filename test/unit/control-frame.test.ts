import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { encodeFrame, FrameDecoder, FrameError, parseFrameBody } from '../../src/transport/quic/frame.js'

function pushAll (dec: FrameDecoder, chunk: Uint8Array): Buffer[] {
  dec.push(chunk)
  const out: Buffer[] = []
  for (let b = dec.next(); b !== undefined; b = dec.next()) out.push(b)
  return out
}

test('frames decode to the same messages however the stream splits them', () => {
  fc.assert(fc.property(
    fc.array(fc.jsonValue(), { minLength: 1, maxLength: 20 }),
    fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 50 }),
    (msgs, cuts) => {
      const bytes = Buffer.concat(msgs.map((m) => encodeFrame(m, 1 << 20)))
      const dec = new FrameDecoder(1 << 20)
      const out: unknown[] = []
      let off = 0
      let i = 0
      while (off < bytes.length) {
        const n = cuts[i++ % cuts.length]
        for (const body of pushAll(dec, bytes.subarray(off, off + n))) out.push(parseFrameBody(body))
        off += n
      }
      assert.deepEqual(out, JSON.parse(JSON.stringify(msgs)))
      assert.equal(dec.pending, 0)
    }
  ))
})

test('the header is the body length as a big-endian u32', () => {
  const f = encodeFrame({ a: 'é' }, 100)
  assert.equal(f.readUInt32BE(0), Buffer.byteLength('{"a":"é"}'))
  assert.equal(f.subarray(4).toString(), '{"a":"é"}')
})

test('encodeFrame refuses values without JSON form and bodies over the limit', () => {
  assert.throws(() => encodeFrame(undefined, 10), TypeError)
  assert.throws(() => encodeFrame(10n, 10), TypeError)
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  assert.throws(() => encodeFrame(cyclic, 100), TypeError)
  assert.equal(encodeFrame('12345678', 10).length, 14)
  assert.throws(() => encodeFrame('123456789', 10), /11 bytes as JSON, above the 10-byte frame limit/)
})

test('an oversized or empty length fails as soon as the header arrives', () => {
  const dec = new FrameDecoder(100)
  assert.throws(() => pushAll(dec, Buffer.from([0, 0, 0, 101])), (e: unknown) => e instanceof FrameError && e.reason === 'frame_too_big')
  assert.throws(() => pushAll(new FrameDecoder(100), Buffer.from([0, 0, 0, 0])), (e: unknown) => e instanceof FrameError && e.reason === 'empty_frame')
})

test('a body that is not UTF-8 or not JSON is a FrameError', () => {
  assert.throws(() => parseFrameBody(Buffer.from([0xc3, 0x28])), (e: unknown) => e instanceof FrameError && e.reason === 'bad_utf8')
  assert.throws(() => parseFrameBody(Buffer.from('{nope')), (e: unknown) => e instanceof FrameError && e.reason === 'bad_json')
})

test('frames come out one at a time, so the limit can rise between two frames', () => {
  const dec = new FrameDecoder(8)
  dec.push(Buffer.concat([encodeFrame('ok', 100), encodeFrame('too long for 8', 100)]))
  assert.equal(parseFrameBody(dec.next() as Buffer), 'ok')
  dec.setMaxBytes(100)
  assert.equal(parseFrameBody(dec.next() as Buffer), 'too long for 8')
  assert.equal(dec.next(), undefined)
  const strict = new FrameDecoder(8)
  strict.push(encodeFrame('too long for 8', 100))
  assert.throws(() => strict.next(), FrameError)
})
