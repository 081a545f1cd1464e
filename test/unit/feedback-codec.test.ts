import { test } from 'node:test'
import assert from 'node:assert/strict'
import { HEADER_LENGTH } from '../../src/wire/constants.js'
import { encodeFeedback, feedbackLength, parseFeedback } from '../../src/wire/feedback.js'
import { parseTunnelSpec } from '../../relay/tunnel/spec.js'
import { TrafficClass } from '../../src/wire/constants.js'

function packet (highest: number, missing: number[]): Buffer {
  const buf = Buffer.alloc(HEADER_LENGTH + feedbackLength(missing.length))
  encodeFeedback(buf, highest, missing)
  return buf
}

test('a FEEDBACK names sequences below its highest and after it, and parses back to the same', () => {
  const highest = 2 ** 40 + 7
  const missing = [highest - 1, highest - 300, highest + 1, highest + 4]
  const buf = packet(highest, missing)
  assert.deepEqual(parseFeedback(buf, feedbackLength(4)), { highest, missing })
  assert.deepEqual(parseFeedback(packet(0, []), feedbackLength(0)), { highest: 0, missing: [] })
})

test('a FEEDBACK that does not add up is malformed, and the highest itself cannot be asked for', () => {
  const buf = packet(100, [99, 98])
  assert.equal(parseFeedback(buf, feedbackLength(2) + 4), undefined, 'length and count disagree')
  assert.equal(parseFeedback(buf, 11), undefined, 'shorter than the fixed part')
  const reserved = Buffer.from(buf); reserved[HEADER_LENGTH + 10] = 1
  assert.equal(parseFeedback(reserved, feedbackLength(2)), undefined, 'reserved bits set')
  const zero = Buffer.from(buf); zero.writeUInt32BE(0, HEADER_LENGTH + 12)
  assert.equal(parseFeedback(zero, feedbackLength(2)), undefined, 'a distance of 0')
  const below = Buffer.from(buf); below.writeUInt32BE(101, HEADER_LENGTH + 12)
  assert.equal(parseFeedback(below, feedbackLength(2)), undefined, 'a sequence below 0')
  const high = Buffer.from(buf); high.writeUInt32BE(0x200000, HEADER_LENGTH)
  assert.equal(parseFeedback(high, feedbackLength(2)), undefined, 'a highest past 2^53')
  assert.throws(() => packet(5, [5]), /asked for is the highest 5/)
  assert.throws(() => packet(5, new Array(65).fill(1)), /at most 64/)
})

test('a tunnel spec may name its traffic class; a wrong one is refused with the choices', () => {
  assert.equal(parseTunnelSpec('127.0.0.1:9000@c=127.0.0.1:5000').trafficClass, TrafficClass.BULK)
  assert.equal(parseTunnelSpec('127.0.0.1:9000@c=127.0.0.1:5000,class=audio').trafficClass, TrafficClass.AUDIO)
  assert.equal(parseTunnelSpec('127.0.0.1:9000@c=[::1]:5000,class=signaling').target.port, 5000)
  assert.throws(() => parseTunnelSpec('127.0.0.1:9000@c=127.0.0.1:5000,class=constructor'), /class 'constructor' is not one of bulk, video, audio, signaling/)
  assert.throws(() => parseTunnelSpec('127.0.0.1:9000@c=127.0.0.1:5000,redundant'), /unknown option 'redundant'/)
})
