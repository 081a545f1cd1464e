/**
 * The UDP address check (docs/security.md, "Advertised addresses"): before a controller lets any
 * relay probe a newly registered one, it sends a random nonce in a UDP datagram to the address the
 * relay advertised, and takes the registration only when the relay returns that nonce over its
 * authenticated control channel. So a relay cannot point the mesh's probes at an address it does
 * not receive on.
 *
 *   datagram: "RMAC" (4 bytes) | nonce (16 bytes)
 *
 * Byte 0 ('R', 0x52) is no wire version, so a relay tells the datagram from mesh traffic where it
 * would otherwise drop it as bad_version.
 */
export const ADDRESS_CHECK_MAGIC = Buffer.from('RMAC', 'latin1')
export const ADDRESS_NONCE_BYTES = 16
export const ADDRESS_CHECK_LENGTH = ADDRESS_CHECK_MAGIC.length + ADDRESS_NONCE_BYTES

export function addressCheckDatagram (nonce: Buffer): Buffer {
  if (nonce.length !== ADDRESS_NONCE_BYTES) throw new TypeError(`address check nonce must be ${ADDRESS_NONCE_BYTES} bytes`)
  return Buffer.concat([ADDRESS_CHECK_MAGIC, nonce])
}

/** The nonce of an address check datagram, or undefined when `buf` is not one. */
export function addressCheckNonce (buf: Buffer): Buffer | undefined {
  if (buf.length !== ADDRESS_CHECK_LENGTH) return undefined
  for (let i = 0; i < ADDRESS_CHECK_MAGIC.length; i++) if (buf[i] !== ADDRESS_CHECK_MAGIC[i]) return undefined
  return Buffer.from(buf.subarray(ADDRESS_CHECK_MAGIC.length))
}
