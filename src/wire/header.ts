import {
  HEADER_LENGTH, KNOWN_FLAGS, MAX_PACKET_TYPE, MAX_PAYLOAD, MAX_SEQ_HI, OFF_CLASS, OFF_DEADLINE, OFF_DST,
  OFF_DST_BOOT, OFF_FLAGS, OFF_FLOW, OFF_FLOW_SEQ, OFF_HOP, OFF_HOP_RESERVED, OFF_LENGTH, OFF_LINK_SEQ_HI,
  OFF_LINK_SEQ_LO, OFF_PLANE, OFF_RESERVED, OFF_SEQ_HI, OFF_SEQ_LO, OFF_SERVICE, OFF_SRC, OFF_SRC_BOOT,
  OFF_TIMESTAMP, OFF_TTL, OFF_TYPE, OFF_VERSION, TAG_LENGTH, WIRE_VERSION
} from './constants.js'
import { Reason } from './reasons.js'

/**
 * A decoded v2 header. The hot path keeps one instance and overwrites it for every packet, so
 * parsing allocates nothing; copy the fields out if you need them after the next parse.
 */
export class PacketHeader {
  type = 0
  flags = 0
  trafficClass = 0
  service = 0
  payloadLength = 0
  src = 0
  dst = 0
  flow = 0
  srcBoot = 0
  dstBoot = 0
  /** End-to-end sequence per (source, destination, source boot), 0 ≤ seq < 2^53: the AEAD nonce. */
  seq = 0
  flowSeq = 0
  plane = 0
  timestamp = 0
  ttl = 0
  deadline = 0
  /** The relay that sent this datagram on its last link. */
  hop = 0
  /** Per-link sequence, 0 ≤ linkSeq < 2^53. */
  linkSeq = 0
}

/**
 * Parses the header of a datagram of `len` bytes into `out`. Checks everything that can be checked
 * without keys: version, type, flags, reserved bits, and that the length field matches the
 * datagram exactly. Returns Reason.OK, BAD_VERSION or MALFORMED; never throws.
 */
export function parseHeader (buf: Uint8Array, len: number, out: PacketHeader): Reason {
  if (len < 1) return Reason.MALFORMED
  if (buf[OFF_VERSION] !== WIRE_VERSION) return Reason.BAD_VERSION
  if (len < HEADER_LENGTH + TAG_LENGTH) return Reason.MALFORMED
  const type = buf[OFF_TYPE]
  if (type === 0 || type > MAX_PACKET_TYPE) return Reason.MALFORMED
  const flags = buf[OFF_FLAGS]
  if ((flags & ~KNOWN_FLAGS) !== 0) return Reason.MALFORMED
  if (buf[OFF_RESERVED] !== 0 || buf[OFF_RESERVED + 1] !== 0 || buf[OFF_RESERVED + 2] !== 0 || buf[OFF_HOP_RESERVED] !== 0) return Reason.MALFORMED
  const payloadLength = (buf[OFF_LENGTH] << 8) | buf[OFF_LENGTH + 1]
  if (payloadLength > MAX_PAYLOAD || HEADER_LENGTH + payloadLength + TAG_LENGTH !== len) return Reason.MALFORMED
  const service = (buf[OFF_SERVICE] << 8) | buf[OFF_SERVICE + 1]
  if (service === 0) return Reason.MALFORMED
  const seqHi = u32(buf, OFF_SEQ_HI)
  const linkHi = u32(buf, OFF_LINK_SEQ_HI)
  if (seqHi >= MAX_SEQ_HI || linkHi >= MAX_SEQ_HI) return Reason.MALFORMED
  const src = u32(buf, OFF_SRC)
  const dst = u32(buf, OFF_DST)
  const hop = u32(buf, OFF_HOP)
  const srcBoot = u32(buf, OFF_SRC_BOOT)
  if (src === 0 || dst === 0 || hop === 0 || srcBoot === 0) return Reason.MALFORMED
  out.type = type
  out.flags = flags
  out.trafficClass = buf[OFF_CLASS]
  out.service = service
  out.payloadLength = payloadLength
  out.src = src
  out.dst = dst
  out.flow = u32(buf, OFF_FLOW)
  out.srcBoot = srcBoot
  out.dstBoot = u32(buf, OFF_DST_BOOT)
  out.seq = seqHi * 0x100000000 + u32(buf, OFF_SEQ_LO)
  out.flowSeq = u32(buf, OFF_FLOW_SEQ)
  out.plane = buf[OFF_PLANE]
  out.timestamp = u32(buf, OFF_TIMESTAMP)
  out.ttl = buf[OFF_TTL]
  out.deadline = (buf[OFF_DEADLINE] << 8) | buf[OFF_DEADLINE + 1]
  out.hop = hop
  out.linkSeq = linkHi * 0x100000000 + u32(buf, OFF_LINK_SEQ_LO)
  return Reason.OK
}

/**
 * Writes the end-to-end part of the header, and the TTL and deadline, into buf[0, HEADER_LENGTH).
 * The boots, the end-to-end sequence and the per-hop fields are written when the packet is sealed
 * and sent (writeSeal, writeHop). Throws TypeError on out-of-range fields, since those are caller
 * bugs.
 */
export function writeHeader (buf: Uint8Array, h: PacketHeader): void {
  if (h.payloadLength > MAX_PAYLOAD) throw new TypeError(`payload length ${h.payloadLength} exceeds ${MAX_PAYLOAD}`)
  buf[OFF_VERSION] = WIRE_VERSION
  buf[OFF_TYPE] = h.type
  buf[OFF_FLAGS] = h.flags
  buf[OFF_CLASS] = h.trafficClass
  buf[OFF_SERVICE] = h.service >>> 8; buf[OFF_SERVICE + 1] = h.service & 0xff
  buf[OFF_LENGTH] = h.payloadLength >>> 8; buf[OFF_LENGTH + 1] = h.payloadLength & 0xff
  putU32(buf, OFF_SRC, h.src)
  putU32(buf, OFF_DST, h.dst)
  putU32(buf, OFF_FLOW, h.flow)
  writeSeal(buf, h.srcBoot, h.dstBoot, h.seq)
  putU32(buf, OFF_FLOW_SEQ, h.flowSeq)
  buf[OFF_PLANE] = h.plane
  buf[OFF_RESERVED] = 0; buf[OFF_RESERVED + 1] = 0; buf[OFF_RESERVED + 2] = 0
  putU32(buf, OFF_TIMESTAMP, h.timestamp)
  buf[OFF_TTL] = h.ttl
  buf[OFF_HOP_RESERVED] = 0
  buf[OFF_DEADLINE] = h.deadline >>> 8; buf[OFF_DEADLINE + 1] = h.deadline & 0xff
  writeHop(buf, h.hop, h.linkSeq)
}

/** The fields a source fills when it seals a packet for one destination. */
export function writeSeal (buf: Uint8Array, srcBoot: number, dstBoot: number, seq: number): void {
  if (seq < 0 || seq >= MAX_SEQ_HI * 0x100000000 || !Number.isInteger(seq)) throw new TypeError(`sequence ${seq} out of range`)
  putU32(buf, OFF_SRC_BOOT, srcBoot)
  putU32(buf, OFF_DST_BOOT, dstBoot)
  putU32(buf, OFF_SEQ_HI, Math.floor(seq / 0x100000000))
  putU32(buf, OFF_SEQ_LO, seq >>> 0)
}

/** The fields every hop rewrites before it tags a packet for its next link. */
export function writeHop (buf: Uint8Array, hop: number, linkSeq: number): void {
  putU32(buf, OFF_HOP, hop)
  putU32(buf, OFF_LINK_SEQ_HI, Math.floor(linkSeq / 0x100000000))
  putU32(buf, OFF_LINK_SEQ_LO, linkSeq >>> 0)
}

export function u32 (buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0
}

export function putU32 (buf: Uint8Array, off: number, v: number): void {
  buf[off] = v >>> 24; buf[off + 1] = (v >>> 16) & 0xff; buf[off + 2] = (v >>> 8) & 0xff; buf[off + 3] = v & 0xff
}
