import { isIPv4 } from 'node:net'
import type { HostPort } from '../../src/transport/address.js'
import { MAX_PAYLOAD } from '../../src/wire/constants.js'
import { ipv6Bytes, isMappedV4 } from './ip.js'

/**
 * Tunnel framing: how the tunnel service (service 1) lays out the mesh payload. docs/wire.md,
 * "Tunnel framing", is the specification; this file is its one encoder and parser.
 *
 *   byte 0       kind: 4 forward to an IPv4 target, 6 forward to an IPv6 target, 1 reply
 *   forward:     bytes 1-2 target UDP port (big-endian), then the target address (4 or 16 bytes),
 *                then the application datagram
 *   reply:       the datagram, from byte 1
 *
 * A forward head is the same for every packet of a tunnel, so it is encoded once per tunnel and
 * sent in front of each datagram as a part of a gather send (Mesh.send), never copied into a new
 * buffer per packet.
 */
export const FrameKind = {
  /** From the egress back to the ingress; the flow id finds the session. */
  REPLY: 1,
  TARGET_V4: 4,
  TARGET_V6: 6
} as const

/** The longest head: kind, port and an IPv6 address. */
export const MAX_FRAME_HEAD = 19
/** The largest datagram a tunnel can carry inside one mesh payload. */
export const MAX_TUNNEL_DATAGRAM = MAX_PAYLOAD - MAX_FRAME_HEAD

/** The head of a reply: the kind byte alone. Shared; never written to. */
export const REPLY_HEAD: Buffer = encodeFrameHead(null)

/**
 * Encodes a head: the forward head toward `target`, or the reply head for null. An IPv4-mapped
 * IPv6 target is written as the IPv6 address; the egress reads it back as IPv4.
 */
export function encodeFrameHead (target: HostPort | null): Buffer {
  if (target === null) return Buffer.from([FrameKind.REPLY])
  if (isIPv4(target.host)) {
    const b = Buffer.alloc(7)
    b[0] = FrameKind.TARGET_V4
    b.writeUInt16BE(target.port, 1)
    for (const [i, part] of target.host.split('.').entries()) b[3 + i] = Number(part)
    return b
  }
  const addr = ipv6Bytes(target.host)
  if (addr === undefined) throw new TypeError(`tunnel target '${target.host}' is not an IP literal`)
  const b = Buffer.alloc(19)
  b[0] = FrameKind.TARGET_V6
  b.writeUInt16BE(target.port, 1)
  addr.copy(b, 3)
  return b
}

/**
 * One parsed frame. The tunnel service keeps one and overwrites it per packet; offsets index the
 * buffer that was parsed.
 */
export class TunnelFrame {
  kind = 0
  /** Forward only: target port, and where the target address is (4 or 16 bytes). */
  port = 0
  addrOff = 0
  addrLen = 0
  /** The application datagram: buf[dataOff, dataOff + dataLen). */
  dataOff = 0
  dataLen = 0
}

/** Parses the frame in buf[off, off + len) into `out`; false when it is malformed. Never throws. */
export function parseFrame (buf: Uint8Array, off: number, len: number, out: TunnelFrame): boolean {
  if (len < 1) return false
  const kind = buf[off]
  out.kind = kind
  if (kind === FrameKind.REPLY) {
    out.dataOff = off + 1
    out.dataLen = len - 1
    return true
  }
  const addrLen = kind === FrameKind.TARGET_V4 ? 4 : kind === FrameKind.TARGET_V6 ? 16 : -1
  if (addrLen < 0 || len < 3 + addrLen) return false
  out.port = (buf[off + 1] << 8) | buf[off + 2]
  out.addrOff = off + 3
  out.addrLen = addrLen
  out.dataOff = off + 3 + addrLen
  out.dataLen = len - 3 - addrLen
  return true
}

/**
 * The target address of a forward frame as text; an IPv4-mapped IPv6 target is its IPv4 address,
 * for policy and socket alike. Allocates: once per new session, not per packet.
 */
export function frameTarget (buf: Uint8Array, f: TunnelFrame): string {
  let off = f.addrOff
  if (f.addrLen === 16 && isMappedV4(buf, off)) off += 12
  else if (f.addrLen === 16) {
    const words: string[] = []
    for (let i = 0; i < 16; i += 2) words.push(((buf[off + i] << 8) | buf[off + i + 1]).toString(16))
    return words.join(':')
  }
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`
}
