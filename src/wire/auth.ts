import { HEADER_LENGTH, OFF_LENGTH } from './constants.js'
import { native } from './native.js'
import { siphash128, type SipKey } from './siphash.js'

/** Minimum mesh key length in bytes (DESIGN.md: at least 32 random bytes). */
export const MIN_MESH_KEY_BYTES = 32

/**
 * The native addon's SipHash (native.ts), about a third of the JavaScript one's cost on a 280-byte
 * datagram (0.27 against 0.81 µs), or undefined: then siphash.ts, which gives the same tags.
 * RELAYMESH_NATIVE=0 chooses the JavaScript one.
 */
const nativeTag = native?.linkTag

/**
 * The link tag (docs/wire.md): SipHash-2-4-128 of the whole datagram before it, header and payload,
 * under the key of the link it travels. Each hop verifies the tag of the link a packet came in on
 * and makes a new one for the link it goes out on. `scratch` is the caller's, so nothing allocates.
 */
export function writeLinkTag (key: SipKey, buf: Uint8Array, scratch: Int32Array): void {
  const end = HEADER_LENGTH + ((buf[OFF_LENGTH] << 8) | buf[OFF_LENGTH + 1])
  if (nativeTag !== undefined) { nativeTag(key, buf, end, false); return }
  siphash128(key, buf, 0, end, scratch)
  writeLE(buf, end, scratch[0]); writeLE(buf, end + 4, scratch[1]); writeLE(buf, end + 8, scratch[2]); writeLE(buf, end + 12, scratch[3])
}

/** True when the datagram's link tag is valid under `key`. Assumes parseHeader passed. */
export function checkLinkTag (key: SipKey, buf: Uint8Array, scratch: Int32Array): boolean {
  const end = HEADER_LENGTH + ((buf[OFF_LENGTH] << 8) | buf[OFF_LENGTH + 1])
  if (nativeTag !== undefined) return nativeTag(key, buf, end, true)
  siphash128(key, buf, 0, end, scratch)
  // Not constant-time; a timing oracle across a UDP network hop on a 128-bit tag is not a
  // practical attack, and each guess costs the attacker a full packet.
  return readLE(buf, end) === scratch[0] && readLE(buf, end + 4) === scratch[1] &&
    readLE(buf, end + 8) === scratch[2] && readLE(buf, end + 12) === scratch[3]
}

/** SipHash-2-4-128 of buf[off, off + len) written at buf[at, at + 16). */
export function writeMac (key: SipKey, buf: Uint8Array, off: number, len: number, at: number, scratch: Int32Array): void {
  siphash128(key, buf, off, len, scratch)
  writeLE(buf, at, scratch[0]); writeLE(buf, at + 4, scratch[1]); writeLE(buf, at + 8, scratch[2]); writeLE(buf, at + 12, scratch[3])
}

/** True when buf[at, at + 16) is the SipHash-2-4-128 of buf[off, off + len) under `key`. */
export function checkMac (key: SipKey, buf: Uint8Array, off: number, len: number, at: number, scratch: Int32Array): boolean {
  siphash128(key, buf, off, len, scratch)
  return readLE(buf, at) === scratch[0] && readLE(buf, at + 4) === scratch[1] &&
    readLE(buf, at + 8) === scratch[2] && readLE(buf, at + 12) === scratch[3]
}

function readLE (b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)
}

function writeLE (b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff; b[o + 1] = (v >>> 8) & 0xff; b[o + 2] = (v >>> 16) & 0xff; b[o + 3] = (v >>> 24) & 0xff
}
