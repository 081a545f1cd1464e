import { createCipheriv, createDecipheriv, type KeyObject } from 'node:crypto'
import { AEAD_TAG_LENGTH, E2E_HEADER, HEADER_LENGTH, OFF_SEQ_HI } from './constants.js'

/**
 * The payload AEAD (docs/wire.md, "Sealed payloads"): AES-128-GCM under the key of one (source,
 * destination, source boot, destination boot), with the 96-bit nonce made of four zero bytes and
 * the header's 64-bit end-to-end sequence, which the source never repeats under one key. The
 * associated data is the header's end-to-end part, so a transit relay can change none of it.
 */
export const PAYLOAD_CIPHER = 'aes-128-gcm'

/** The nonce buffer is reused: createCipheriv copies it. */
const iv = Buffer.alloc(12)

function nonceOf (buf: Buffer): Buffer {
  buf.copy(iv, 4, OFF_SEQ_HI, OFF_SEQ_HI + 8)
  return iv
}

/**
 * Encrypts buf[HEADER_LENGTH, HEADER_LENGTH + plainLength) in place and writes the AEAD tag after
 * it. The header's end-to-end part, sequence included, must be final.
 */
export function sealPayload (key: KeyObject, buf: Buffer, plainLength: number): void {
  const c = createCipheriv(PAYLOAD_CIPHER, key, nonceOf(buf))
  c.setAAD(buf.subarray(0, E2E_HEADER))
  const out = c.update(buf.subarray(HEADER_LENGTH, HEADER_LENGTH + plainLength))
  out.copy(buf, HEADER_LENGTH)
  c.final()
  c.getAuthTag().copy(buf, HEADER_LENGTH + plainLength)
}

/**
 * Decrypts a sealed payload of `sealedLength` bytes (ciphertext and tag) in place. Returns false,
 * with the payload bytes undefined, when it does not authenticate.
 */
export function openPayload (key: KeyObject, buf: Buffer, sealedLength: number): boolean {
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
