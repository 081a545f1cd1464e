import { HEADER_LENGTH } from './constants.js'
import { putU32, u32 } from './header.js'

/**
 * The payload of a FEEDBACK packet (docs/wire.md, "Feedback"), after the 64-byte header:
 *
 *   0  u32  highest link sequence received, high half
 *   4  u32  highest link sequence received, low half
 *   8  u16  count of missing sequences that follow
 *  10  u16  reserved, zero
 *  12  i32 × count: each sequence asked for as `highest − sequence`: positive for one missing below
 *       the highest, negative for one after it (a silent link's tail, docs/recovery.md); never 0
 */
export const FEEDBACK_FIXED = 12
/** Missing sequences one FEEDBACK names at most (268 bytes of payload). */
export const FEEDBACK_MAX_MISSING = 64

/** Payload bytes of a FEEDBACK naming `count` missing sequences. */
export function feedbackLength (count: number): number { return FEEDBACK_FIXED + 4 * count }

/** Writes the payload at HEADER_LENGTH of `buf`, which begin() made with feedbackLength(missing.length). */
export function encodeFeedback (buf: Uint8Array, highest: number, missing: readonly number[]): void {
  if (missing.length > FEEDBACK_MAX_MISSING) throw new TypeError(`a FEEDBACK names at most ${FEEDBACK_MAX_MISSING} missing sequences, got ${missing.length}`)
  const o = HEADER_LENGTH
  putU32(buf, o, Math.floor(highest / 0x1_0000_0000))
  putU32(buf, o + 4, highest >>> 0)
  buf[o + 8] = missing.length >>> 8
  buf[o + 9] = missing.length & 0xff
  buf[o + 10] = 0
  buf[o + 11] = 0
  for (let i = 0; i < missing.length; i++) {
    const d = highest - missing[i]
    if (d === 0 || d < -0x80000000 || d > 0x7fffffff) throw new TypeError(`sequence ${missing[i]} asked for is the highest ${highest} or not within 2^31 of it`)
    putU32(buf, o + FEEDBACK_FIXED + 4 * i, d >>> 0)
  }
}

/**
 * Reads a FEEDBACK payload of `length` bytes; undefined when it is malformed (a count that does
 * not match the length, a reserved field set, a distance of 0, a sequence below 0 or a highest
 * past 2^53).
 */
export function parseFeedback (buf: Uint8Array, length: number): { highest: number, missing: number[] } | undefined {
  if (length < FEEDBACK_FIXED) return undefined
  const o = HEADER_LENGTH
  const hi = u32(buf, o)
  if (hi >= 0x200000) return undefined
  const highest = hi * 0x1_0000_0000 + u32(buf, o + 4)
  const count = (buf[o + 8] << 8) | buf[o + 9]
  if ((buf[o + 10] | buf[o + 11]) !== 0 || count > FEEDBACK_MAX_MISSING || length !== feedbackLength(count)) return undefined
  const missing: number[] = new Array(count)
  for (let i = 0; i < count; i++) {
    const d = u32(buf, o + FEEDBACK_FIXED + 4 * i) | 0
    if (d === 0 || d > highest) return undefined
    missing[i] = highest - d
  }
  return { highest, missing }
}
