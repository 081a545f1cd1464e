import { checkLinkTag, checkMac, writeLinkTag, writeMac } from './auth.js'
import {
  DEFAULT_TTL, E2E_HEADER, Flag, HEADER_LENGTH, HELLO_PAYLOAD, OFF_LENGTH, PacketType, Service, TAG_LENGTH, TrafficClass
} from './constants.js'
import { PacketHeader, writeHeader, writeHop } from './header.js'
import type { PairKeys } from './keys.js'

/** The `flow` field of a HELLO: bit 0 asks the peer to answer (we have not confirmed its boot). */
export const HELLO_ASK = 1

export interface HelloFields {
  self: number
  peer: number
  /** Our boot id, and the one we heard from the peer (0: none yet). */
  boot: number
  echo: number
  /** From the sender's end-to-end sequence. */
  seq: number
  ask: boolean
  /** Straight to a neighbour (TTL 1, STATIC_LINK, tagged here) or routed (tagged by the sender's link). */
  direct: boolean
  timestamp: number
}

const h = new PacketHeader()

/**
 * A HELLO (docs/wire.md, "Sessions") under pair keys `k`: its MAC over the end-to-end header, and,
 * sent direct, the per-hop part and the link tag under the static link key.
 */
export function helloPacket (f: HelloFields, k: PairKeys, scratch: Int32Array): Buffer {
  const buf = Buffer.alloc(HEADER_LENGTH + HELLO_PAYLOAD + TAG_LENGTH)
  h.type = PacketType.HELLO
  h.flags = f.direct ? Flag.STATIC_LINK : 0
  h.trafficClass = TrafficClass.SIGNALING
  h.service = Service.LINK
  h.payloadLength = HELLO_PAYLOAD
  h.src = f.self
  h.dst = f.peer
  h.flow = f.ask ? HELLO_ASK : 0
  h.srcBoot = f.boot
  h.dstBoot = f.echo
  h.seq = f.seq
  h.ttl = f.direct ? 1 : DEFAULT_TTL
  h.timestamp = f.timestamp >>> 0
  h.hop = f.self
  writeHeader(buf, h)
  writeMac(k.helloTx, buf, 0, E2E_HEADER, HEADER_LENGTH, scratch)
  if (f.direct) {
    writeHop(buf, f.self, 0)
    writeLinkTag(k.staticTx, buf, scratch)
  }
  return buf
}

/** Which of `candidates` made this HELLO (its MAC, and for a direct one its static link tag), if any. */
export function helloKeys (candidates: readonly PairKeys[], buf: Buffer, direct: boolean, scratch: Int32Array): PairKeys | undefined {
  if (((buf[OFF_LENGTH] << 8) | buf[OFF_LENGTH + 1]) !== HELLO_PAYLOAD) return undefined
  for (const k of candidates) {
    if (direct && !checkLinkTag(k.staticRx, buf, scratch)) continue
    if (checkMac(k.helloRx, buf, 0, E2E_HEADER, HEADER_LENGTH, scratch)) return k
  }
  return undefined
}
