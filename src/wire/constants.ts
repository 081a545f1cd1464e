/**
 * relaymesh wire format, version 2. docs/wire.md is the byte-by-byte specification; this file is
 * its single source of numbers. All multi-byte integers are big-endian (network order).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------+---------------+---------------+---------------+   end-to-end part:
 * |    version    |     type      |     flags     | traffic class |  0  set by the source, never
 * +---------------+---------------+---------------+---------------+     changed on the way, and
 * |          service id           |        payload length         |  4  the payload AEAD's
 * +---------------+---------------+---------------+---------------+     associated data
 * |                      source relay number                      |  8
 * +---------------------------------------------------------------+
 * |                   destination relay number                    | 12
 * +---------------------------------------------------------------+
 * |                            flow id                            | 16
 * +---------------------------------------------------------------+
 * |                     source boot id (random)                   | 20
 * +---------------------------------------------------------------+
 * |                  destination boot id (random)                 | 24
 * +---------------------------------------------------------------+
 * |        end-to-end sequence, high 32 bits (< 2^21)             | 28
 * +---------------------------------------------------------------+
 * |        end-to-end sequence, low 32 bits                       | 32
 * +---------------------------------------------------------------+
 * |                     flow sequence (M8)                        | 36
 * +---------------+---------------+-------------------------------+
 * |  path plane   |   reserved    |           reserved            | 40
 * +---------------+---------------+-------------------------------+
 * |               send timestamp (µs, wraps at 2^32)              | 44
 * +---------------+---------------+-------------------------------+   per-hop part:
 * |      TTL      |   reserved    |  remaining deadline (ms, M8)  | 48  rewritten by every hop
 * +---------------+---------------+-------------------------------+
 * |                previous hop's relay number                    | 52
 * +---------------------------------------------------------------+
 * |            link sequence, high 32 bits (< 2^21)               | 56
 * +---------------------------------------------------------------+
 * |            link sequence, low 32 bits                         | 60
 * +---------------------------------------------------------------+
 * |      payload (payload length bytes; sealed: ciphertext and  ... 64
 * |      its 16-byte AEAD tag)                                    |
 * +---------------------------------------------------------------+
 * |   link tag: SipHash-2-4-128 under the link's key, 16 bytes  ... 64 + payload length
 * +---------------------------------------------------------------+
 */

/** Byte 0. The only version this code speaks; any other is dropped as bad_version. */
export const WIRE_VERSION = 2

/** Fixed header length in bytes; the payload starts here. */
export const HEADER_LENGTH = 64
/** The end-to-end part of the header, [0, E2E_HEADER): the payload AEAD's associated data. */
export const E2E_HEADER = 48
/** Link tag length in bytes, after the payload. */
export const TAG_LENGTH = 16
/** The AEAD tag at the end of a sealed payload. */
export const AEAD_TAG_LENGTH = 16
/** Header plus link tag: the bytes a packet costs beyond its payload field. */
export const OVERHEAD = HEADER_LENGTH + TAG_LENGTH

/**
 * Hard ceiling on the payload length field (which includes a sealed payload's AEAD tag). Larger
 * values are malformed whatever the relay's configured budget; it keeps every valid datagram
 * inside a 1,500 B Ethernet MTU over IPv6 (1,452 B of UDP payload).
 */
export const MAX_PAYLOAD = 1452 - OVERHEAD
/** The most a service may send in one sealed packet. */
export const MAX_SEALED_PAYLOAD = MAX_PAYLOAD - AEAD_TAG_LENGTH
/** Default payload budget for what a service may send through the mesh (DESIGN.md: 1,200 B). */
export const DEFAULT_PAYLOAD_BUDGET = 1200

// Field offsets. Each comment gives the field's width.
export const OFF_VERSION = 0 // u8
export const OFF_TYPE = 1 // u8, PacketType
export const OFF_FLAGS = 2 // u8, Flag bits
export const OFF_CLASS = 3 // u8, traffic class (TrafficClass)
export const OFF_SERVICE = 4 // u16, service the destination delivers to
export const OFF_LENGTH = 6 // u16, payload length in bytes
export const OFF_SRC = 8 // u32, source relay number
export const OFF_DST = 12 // u32, destination relay number
export const OFF_FLOW = 16 // u32, flow id chosen by the source service
export const OFF_SRC_BOOT = 20 // u32, the source's boot id: random, non-zero, new at every start
export const OFF_DST_BOOT = 24 // u32, the destination's boot id as the source knows it
export const OFF_SEQ_HI = 28 // u32, end-to-end sequence per (source, destination, boot), high half
export const OFF_SEQ_LO = 32 // u32, end-to-end sequence, low half: with the high half the AEAD nonce
export const OFF_FLOW_SEQ = 36 // u32, per-flow sequence for duplicate removal at the egress (M8)
export const OFF_PLANE = 40 // u8, path plane (M8); 0 = the primary
export const OFF_RESERVED = 41 // u8 + u16, must be zero
export const OFF_TIMESTAMP = 44 // u32, source's monotonic clock in µs, modulo 2^32
export const OFF_TTL = 48 // u8, hops left
export const OFF_HOP_RESERVED = 49 // u8, must be zero
export const OFF_DEADLINE = 50 // u16, milliseconds left to deliver (M8); 0 = no deadline
export const OFF_HOP = 52 // u32, relay number of the hop that sent this datagram
export const OFF_LINK_SEQ_HI = 56 // u32, per-link sequence, high half
export const OFF_LINK_SEQ_LO = 60 // u32, per-link sequence, low half

/** Packet types (byte 1). */
export const PacketType = {
  /** Application payload for a service at the destination relay. */
  DATA: 1,
  /** Link probe to a direct neighbour; answered at once with PROBE_ECHO. */
  PROBE: 2,
  /** Answer to a PROBE, echoing its sequence and timestamp. */
  PROBE_ECHO: 3,
  /** Reserved for in-band control messages. */
  CONTROL: 4,
  /**
   * Session handshake between two relays (docs/wire.md, "Sessions"): carries the sender's boot id
   * and echoes the receiver's. Sent straight to a neighbour (TTL 1, flag STATIC_LINK) or routed
   * to any relay like DATA.
   */
  HELLO: 5,
  /**
   * Per-hop recovery feedback to a direct neighbour (docs/recovery.md): the highest link sequence
   * the sender of this packet received from the neighbour, and the ones missing below it.
   * Link-local like PROBE: TTL 1, service LINK, not sealed.
   */
  FEEDBACK: 6
} as const
export type PacketType = typeof PacketType[keyof typeof PacketType]
export const MAX_PACKET_TYPE = 6

/** Flag bits (byte 2); any other bit set is malformed. */
export const Flag = {
  /** The payload of this DATA packet is not sealed: the service encrypts end to end itself. */
  CLEAR: 0x01,
  /** HELLO only: the link tag is under the pair's boot-independent key (no session yet). */
  STATIC_LINK: 0x02
} as const
export const KNOWN_FLAGS = Flag.CLEAR | Flag.STATIC_LINK

/**
 * Traffic classes (byte 3), as M8 schedules them: higher is more urgent. Other values up to 255
 * are carried as they are and treated as bulk.
 */
export const TrafficClass = {
  BULK: 0,
  VIDEO: 1,
  AUDIO: 2,
  SIGNALING: 3
} as const

/** HELLO payload: SipHash-2-4-128 of the end-to-end header under the pair's hello key. */
export const HELLO_PAYLOAD = 16

/** Well-known service ids (bytes 6–7). 0 is never valid. */
export const Service = {
  TUNNEL: 1,
  SIGNALING: 2,
  SFU: 3,
  /** First id free for applications. */
  USER_MIN: 1024,
  /** Link-local packets (PROBE, PROBE_ECHO): never forwarded, TTL 1. */
  LINK: 0xffff
} as const

/**
 * Probe and echo payloads (type PROBE / PROBE_ECHO, service LINK, TTL 1, dst = the neighbour).
 * The send time is the header's timestamp field.
 *   PROBE, 8 bytes:       probe sequence u32 | reserved u32 (zero)
 *   PROBE_ECHO, 16 bytes: probe sequence u32 | probe's timestamp u32 | probes received from the
 *                         prober so far u32 | reserved u32 (zero)
 */
export const PROBE_PAYLOAD = 8
export const ECHO_PAYLOAD = 16

/** Default TTL for packets a relay originates. */
export const DEFAULT_TTL = 16

/** Sequence numbers stay below 2^53 so a JS number holds them exactly. */
export const MAX_SEQ_HI = 1 << 21
