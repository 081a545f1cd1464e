import { createHash, hkdfSync } from 'node:crypto'
import { HEADER_LENGTH, OFF_KEY_ID, OFF_LENGTH, OFF_TTL, TAG_LENGTH } from './constants.js'
import { siphash128, sipKeyFromBytes, type SipKey } from './siphash.js'

/** Minimum mesh key length in bytes (DESIGN.md: at least 32 random bytes). */
export const MIN_MESH_KEY_BYTES = 32

const HKDF_SALT = Buffer.from('relaymesh')
const HKDF_INFO_PACKET = Buffer.from('relaymesh v1 packet auth')
const KEY_ID_LABEL = Buffer.from('relaymesh v1 key id')

/** The key id byte of a mesh key: the first byte of SHA-256("relaymesh v1 key id" || key). */
export function meshKeyId (meshKey: Uint8Array): number {
  return createHash('sha256').update(KEY_ID_LABEL).update(meshKey).digest()[0]
}

/** Derives the 128-bit packet-auth key from a mesh key with HKDF-SHA256. */
export function derivePacketKey (meshKey: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', meshKey, HKDF_SALT, HKDF_INFO_PACKET, 16))
}

/**
 * Signs and verifies packets in place. Holds one signing key and any number of keys it accepts,
 * each under its key id, so a mesh can roll to a new key without a flag day.
 */
export class PacketAuth {
  readonly keyId: number
  private readonly signKey: SipKey
  /** Accepted keys, indexed by key id; undefined where the id is unknown. */
  private readonly accept: Array<SipKey | undefined> = new Array(256).fill(undefined)
  private readonly tag = new Int32Array(4)

  constructor (meshKey: Uint8Array, acceptAlso: Uint8Array[] = []) {
    if (meshKey.length < MIN_MESH_KEY_BYTES) throw new TypeError(`mesh key must be at least ${MIN_MESH_KEY_BYTES} bytes, got ${meshKey.length}`)
    this.keyId = meshKeyId(meshKey)
    this.signKey = sipKeyFromBytes(derivePacketKey(meshKey))
    this.accept[this.keyId] = this.signKey
    for (const k of acceptAlso) {
      const id = meshKeyId(k)
      if (this.accept[id] !== undefined && id !== this.keyId) throw new TypeError(`two accepted mesh keys share key id ${id}; generate another key`)
      this.accept[id] = sipKeyFromBytes(derivePacketKey(k))
    }
  }

  /**
   * Writes the key id and the tag of a complete packet (header and payload in place, length field
   * set). The tag covers header and payload with the TTL byte taken as zero.
   */
  sign (buf: Uint8Array): void {
    buf[OFF_KEY_ID] = this.keyId
    const end = HEADER_LENGTH + ((buf[OFF_LENGTH] << 8) | buf[OFF_LENGTH + 1])
    this.compute(this.signKey, buf, end)
    const t = this.tag
    writeLE(buf, end, t[0]); writeLE(buf, end + 4, t[1]); writeLE(buf, end + 8, t[2]); writeLE(buf, end + 12, t[3])
  }

  /** True when the packet's tag is valid under the key its key id names. Assumes parseHeader passed. */
  verify (buf: Uint8Array): boolean {
    const key = this.accept[buf[OFF_KEY_ID]]
    if (key === undefined) return false
    const end = HEADER_LENGTH + ((buf[OFF_LENGTH] << 8) | buf[OFF_LENGTH + 1])
    this.compute(key, buf, end)
    const t = this.tag
    // Not constant-time; a timing oracle across a UDP network hop on a 128-bit tag is not a
    // practical attack, and each guess costs the attacker a full packet.
    return readLE(buf, end) === t[0] && readLE(buf, end + 4) === t[1] &&
      readLE(buf, end + 8) === t[2] && readLE(buf, end + 12) === t[3]
  }

  private compute (key: SipKey, buf: Uint8Array, end: number): void {
    const ttl = buf[OFF_TTL]
    buf[OFF_TTL] = 0
    siphash128(key, buf, 0, end, this.tag)
    buf[OFF_TTL] = ttl
  }
}

export const AUTH_TAG_LENGTH = TAG_LENGTH

function readLE (b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)
}

function writeLE (b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff; b[o + 1] = (v >>> 8) & 0xff; b[o + 2] = (v >>> 16) & 0xff; b[o + 3] = (v >>> 24) & 0xff
}
