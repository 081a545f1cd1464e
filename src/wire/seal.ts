import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto'
import { AEAD_TAG_LENGTH, E2E_HEADER, HEADER_LENGTH, OFF_SEQ_HI } from './constants.js'
import { native, nativeUnavailable } from './native.js'

/**
 * The payload AEAD (docs/wire.md, "Sealed payloads"): AES-128-GCM under the key of one (source,
 * destination, source boot, destination boot), with the 96-bit nonce made of four zero bytes and
 * the header's 64-bit end-to-end sequence, which the source never repeats under one key. The
 * associated data is the header's end-to-end part, so a transit relay can change none of it.
 *
 * Two implementations give the same bytes: the native addon (native.ts: OpenSSL through Node-API,
 * about 0.7 µs to seal and open 256 bytes), and node:crypto (about 12 µs, a cipher object per
 * packet) where the addon was not built.
 */
export const PAYLOAD_CIPHER = 'aes-128-gcm'

/** One direction's payload key. */
export interface PayloadKey {
  /** Which implementation seals and opens with it. */
  readonly impl: PayloadAeadImpl
  /**
   * Encrypts buf[HEADER_LENGTH, HEADER_LENGTH + plainLength) in place and writes the AEAD tag after
   * it. The header's end-to-end part, sequence included, must be final.
   */
  seal: (buf: Buffer, plainLength: number) => void
  /**
   * Decrypts a sealed payload of `sealedLength` bytes (ciphertext and tag) in place. Returns false,
   * with the buffer untouched, when it does not authenticate.
   */
  open: (buf: Buffer, sealedLength: number) => boolean
}

export type PayloadAeadImpl = 'native' | 'node:crypto'

/** The implementation new keys get, and why the native one is not used (when it is not). */
export const payloadAead: { impl: PayloadAeadImpl, unavailable: string | undefined } = {
  impl: native === undefined ? 'node:crypto' : 'native',
  unavailable: nativeUnavailable
}

/** A payload key from its 16 raw bytes, on the native addon when it loaded (or as `impl` says). */
export function payloadKey (raw: Buffer, impl: PayloadAeadImpl = payloadAead.impl): PayloadKey {
  const aead = native
  if (impl === 'native' && aead !== undefined) {
    const k = aead.newKey(raw)
    return {
      impl,
      seal: (buf, plainLength) => { aead.seal(k, buf, plainLength, OFF_SEQ_HI, E2E_HEADER, HEADER_LENGTH) },
      open: (buf, sealedLength) => aead.open(k, buf, sealedLength, OFF_SEQ_HI, E2E_HEADER, HEADER_LENGTH)
    }
  }
  if (impl === 'native') throw new Error(`the native payload AEAD is not available: ${nativeUnavailable ?? 'unknown'}`)
  const key = createSecretKey(raw)
  return { impl: 'node:crypto', seal: (buf, plainLength) => { jsSeal(key, buf, plainLength) }, open: (buf, sealedLength) => jsOpen(key, buf, sealedLength) }
}

/** The nonce buffer is reused: createCipheriv copies it. */
const iv = Buffer.alloc(12)

function nonceOf (buf: Buffer): Buffer {
  buf.copy(iv, 4, OFF_SEQ_HI, OFF_SEQ_HI + 8)
  return iv
}

function jsSeal (key: KeyObject, buf: Buffer, plainLength: number): void {
  const c = createCipheriv(PAYLOAD_CIPHER, key, nonceOf(buf))
  c.setAAD(buf.subarray(0, E2E_HEADER))
  const out = c.update(buf.subarray(HEADER_LENGTH, HEADER_LENGTH + plainLength))
  out.copy(buf, HEADER_LENGTH)
  c.final()
  c.getAuthTag().copy(buf, HEADER_LENGTH + plainLength)
}

function jsOpen (key: KeyObject, buf: Buffer, sealedLength: number): boolean {
  const plainLength = sealedLength - AEAD_TAG_LENGTH
  if (plainLength < 0) return false
  const d = createDecipheriv(PAYLOAD_CIPHER, key, nonceOf(buf))
  d.setAAD(buf.subarray(0, E2E_HEADER))
  d.setAuthTag(buf.subarray(HEADER_LENGTH + plainLength, HEADER_LENGTH + sealedLength))
  const out = d.update(buf.subarray(HEADER_LENGTH, HEADER_LENGTH + plainLength))
  try {
    d.final()
  } catch {
    return false
  }
  out.copy(buf, HEADER_LENGTH)
  return true
}
