import { UnsupportedError } from '../errors.js'
import { Service } from '../wire/constants.js'
import type { MeshPayload, SendOptions } from './types.js'

/**
 * The rules every Mesh implementation applies to a send before it builds a packet. Cheap enough
 * for every packet: a few integer compares, no allocation.
 *
 * Options the transport does not provide yet throw instead of being ignored: a service that asks
 * for redundant copies and silently gets none would believe it has them.
 */
export function checkSend (service: number, opts: SendOptions): void {
  if (opts.redundant === true) throw new UnsupportedError('send option redundant: copies over disjoint paths come with M8; send without it')
  if (opts.preEncrypted === true && service < Service.USER_MIN) {
    throw new TypeError(`send option preEncrypted: service ${service} is one of the mesh's own (tunnel, signaling, SFU), whose payloads are always sealed; only services from ${Service.USER_MIN} up may skip the seal`)
  }
  checkService(service)
  const c = opts.class
  if ((c & 0xff) !== c) throw new TypeError(`traffic class ${c} is not an integer in 0-255`)
}

/** Checks a service id given to register(). */
export function checkService (service: number): void {
  if ((service & 0xffff) !== service || service === 0 || service === Service.LINK) {
    throw new TypeError(`service ${service} is not a service id; use 1-65534 (docs/mesh-service.md)`)
  }
}

/** Bytes in a payload. */
export function payloadLength (p: MeshPayload): number {
  if (!Array.isArray(p)) return (p as Uint8Array).length
  let n = 0
  for (let i = 0; i < p.length; i++) n += (p[i] as Uint8Array).length
  return n
}

/** Copies a payload into buf at `off`. */
export function copyPayload (p: MeshPayload, buf: Uint8Array, off: number): void {
  if (!Array.isArray(p)) { buf.set(p as Uint8Array, off); return }
  for (let i = 0; i < p.length; i++) {
    const part = p[i] as Uint8Array
    buf.set(part, off)
    off += part.length
  }
}
