import {
  HEADER_LENGTH, KNOWN_FLAGS, MAX_PACKET_TYPE, MAX_PAYLOAD, MAX_SEQ_HI, OFF_CLASS, OFF_DST,
  OFF_EPOCH, OFF_FLAGS, OFF_FLOW, OFF_KEY_ID, OFF_LENGTH, OFF_RESERVED, OFF_SEQ_HI, OFF_SEQ_LO,
  OFF_SERVICE, OFF_SRC, OFF_TIMESTAMP, OFF_TTL, OFF_TYPE, OFF_VERSION, TAG_LENGTH, WIRE_VERSION
} from './constants.js'
import { Reason } from './reasons.js'

/**
 * A decoded v1 header. The hot path keeps one instance and overwrites it for every packet, so
 * parsing allocates nothing; copy the fields out if you need them after the next parse.
 */
export class PacketHeader {
  version = WIRE_VERSION
  type = 0
  flags = 0
  trafficClass = 0
  ttl = 0
  keyId = 0
  service = 0
  payloadLength = 0
  src = 0
  dst = 0
  flow = 0
  epoch = 0
  /** 0 ≤ seq < 2^53. */
  seq = 0
  timestamp = 0
}

/**
 * Parses the header of a datagram of `len` bytes into `out`. Checks everything that can be checked
 * without the key: version, type, flags, reserved bits, and that the length field matches the
 * datagram exactly. Returns Reason.OK or Reason.MALFORMED; never throws.
 */
export function parseHeader (buf: Uint8Array, len: number, out: PacketHeader): Reason {
  if (len < HEADER_LENGTH + TAG_LENGTH) return Reason.MALFORMED
  if (buf[OFF_VERSION] !== WIRE_VERSION) return Reason.MALFORMED
  const type = buf[OFF_TYPE]
  if (type === 0 || type > MAX_PACKET_TYPE) return Reason.MALFORMED
  const flags = buf[OFF_FLAGS]
  if ((flags & ~KNOWN_FLAGS) !== 0) return Reason.MALFORMED
  if (buf[OFF_RESERVED] !== 0 || buf[OFF_RESERVED + 1] !== 0) return Reason.MALFORMED
  const payloadLength = (buf[OFF_LENGTH] << 8) | buf[OFF_LENGTH + 1]
  if (payloadLength > MAX_PAYLOAD || HEADER_LENGTH + payloadLength + TAG_LENGTH !== len) return Reason.MALFORMED
  const service = (buf[OFF_SERVICE] << 8) | buf[OFF_SERVICE + 1]
  if (service === 0) return Reason.MALFORMED
  const seqHi = u32(buf, OFF_SEQ_HI)
  if (seqHi >= MAX_SEQ_HI) return Reason.MALFORMED
  const src = u32(buf, OFF_SRC)
  const dst = u32(buf, OFF_DST)
  if (src === 0 || dst === 0) return Reason.MALFORMED
  out.version = WIRE_VERSION
  out.type = type
  out.flags = flags
  out.trafficClass = buf[OFF_CLASS]
  out.ttl = buf[OFF_TTL]
  out.keyId = buf[OFF_KEY_ID]
  out.service = service
  out.payloadLength = payloadLength
  out.src = src
  out.dst = dst
  out.flow = u32(buf, OFF_FLOW)
  out.epoch = u32(buf, OFF_EPOCH)
  out.seq = seqHi * 0x100000000 + u32(buf, OFF_SEQ_LO)
  out.timestamp = u32(buf, OFF_TIMESTAMP)
  return Reason.OK
}

/**
 * Writes header fields into buf[0, HEADER_LENGTH). The tag is not touched: sign the packet after
 * the payload is in place. Throws TypeError on out-of-range fields, since those are caller bugs.
 */
export function writeHeader (buf: Uint8Array, h: PacketHeader): void {
  if (h.payloadLength > MAX_PAYLOAD) throw new TypeError(`payload length ${h.payloadLength} exceeds ${MAX_PAYLOAD}`)
  if (h.seq < 0 || h.seq >= MAX_SEQ_HI * 0x100000000 || !Number.isInteger(h.seq)) throw new TypeError(`sequence ${h.seq} out of range`)
  buf[OFF_VERSION] = WIRE_VERSION
  buf[OFF_TYPE] = h.type
  buf[OFF_FLAGS] = h.flags
  buf[OFF_CLASS] = h.trafficClass
  buf[OFF_TTL] = h.ttl
  buf[OFF_KEY_ID] = h.keyId
  buf[OFF_SERVICE] = h.service >>> 8; buf[OFF_SERVICE + 1] = h.service & 0xff
  buf[OFF_LENGTH] = h.payloadLength >>> 8; buf[OFF_LENGTH + 1] = h.payloadLength & 0xff
  buf[OFF_RESERVED] = 0; buf[OFF_RESERVED + 1] = 0
  putU32(buf, OFF_SRC, h.src)
  putU32(buf, OFF_DST, h.dst)
  putU32(buf, OFF_FLOW, h.flow)
  putU32(buf, OFF_EPOCH, h.epoch)
  putU32(buf, OFF_SEQ_HI, Math.floor(h.seq / 0x100000000))
  putU32(buf, OFF_SEQ_LO, h.seq >>> 0)
  putU32(buf, OFF_TIMESTAMP, h.timestamp)
}

export function u32 (buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0
}

export function putU32 (buf: Uint8Array, off: number, v: number): void {
  buf[off] = v >>> 24; buf[off + 1] = (v >>> 16) & 0xff; buf[off + 2] = (v >>> 8) & 0xff; buf[off + 3] = v & 0xff
}
