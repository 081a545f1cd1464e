import { ErrorCode, RelaymeshError } from '../errors.js'
import { DEFAULT_TTL, HEADER_LENGTH, TAG_LENGTH } from './constants.js'
import { PacketHeader, parseHeader, writeHeader } from './header.js'
import type { PacketAuth } from './auth.js'
import { REASON_NAMES, Reason } from './reasons.js'

/** A decode failure, named by its drop reason. */
export class WireError extends RelaymeshError {
  readonly reason: Reason
  constructor (reason: Reason, detail: string) {
    super(ErrorCode.WIRE, `${REASON_NAMES[reason]}: ${detail}`)
    this.name = 'WireError'
    this.reason = reason
  }
}

export interface PacketFields {
  type: number
  flags?: number
  trafficClass?: number
  ttl?: number
  service: number
  src: number
  dst: number
  flow?: number
  epoch: number
  seq: number
  timestamp?: number
}

/**
 * Encodes and signs one packet. A convenience for tools and tests; relays use Originator, which
 * keeps the sequence for them.
 */
export function encodePacket (f: PacketFields, payload: Uint8Array, auth: PacketAuth): Buffer {
  const buf = Buffer.alloc(HEADER_LENGTH + payload.length + TAG_LENGTH)
  const h = new PacketHeader()
  h.type = f.type
  h.flags = f.flags ?? 0
  h.trafficClass = f.trafficClass ?? 0
  h.ttl = f.ttl ?? DEFAULT_TTL
  h.keyId = auth.keyId
  h.service = f.service
  h.payloadLength = payload.length
  h.src = f.src
  h.dst = f.dst
  h.flow = f.flow ?? 0
  h.epoch = f.epoch
  h.seq = f.seq
  h.timestamp = f.timestamp ?? 0
  writeHeader(buf, h)
  buf.set(payload, HEADER_LENGTH)
  auth.sign(buf)
  return buf
}

export interface DecodedPacket {
  header: PacketHeader
  payload: Buffer
}

/** Decodes and verifies one packet; throws WireError naming the reason on failure. */
export function decodePacket (buf: Buffer, auth: PacketAuth): DecodedPacket {
  const header = new PacketHeader()
  const r = parseHeader(buf, buf.length, header)
  if (r !== Reason.OK) throw new WireError(r, `bad header in a ${buf.length}-byte datagram`)
  if (!auth.verify(buf)) throw new WireError(Reason.BAD_AUTH, `tag does not verify under key id ${header.keyId}`)
  return { header, payload: buf.subarray(HEADER_LENGTH, HEADER_LENGTH + header.payloadLength) }
}
