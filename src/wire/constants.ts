/**
 * relaymesh wire format, version 1. docs/wire.md is the byte-by-byte specification; this file is
 * its single source of numbers. All multi-byte integers are big-endian (network order).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------+---------------+---------------+---------------+
 * |    version    |     type      |     flags     | traffic class |  0
 * +---------------+---------------+---------------+---------------+
 * |      TTL      |    key id     |          service id           |  4
 * +---------------+---------------+---------------+---------------+
 * |        payload length         |       reserved (zero)         |  8
 * +---------------+---------------+---------------+---------------+
 * |                      source relay number                      | 12
 * +---------------------------------------------------------------+
 * |                   destination relay number                    | 16
 * +---------------------------------------------------------------+
 * |                            flow id                            | 20
 * +---------------------------------------------------------------+
 * |                 boot epoch (source, unix seconds)             | 24
 * +---------------------------------------------------------------+
 * |                   sequence, high 32 bits                      | 28
 * +---------------------------------------------------------------+
 * |                   sequence, low 32 bits                       | 32
 * +---------------------------------------------------------------+
 * |               send timestamp (µs, wraps at 2^32)              | 36
 * +---------------------------------------------------------------+
 * |                 payload (payload length bytes)              ...  40
 * +---------------------------------------------------------------+
 * |            auth tag: SipHash-2-4-128, 16 bytes              ...  40 + payload length
 * +---------------------------------------------------------------+
 */

/** Byte 0. The only version this code speaks. */
export const WIRE_VERSION = 1

/** Fixed header length in bytes; the payload starts here. */
export const HEADER_LENGTH = 40
/** Authentication tag length in bytes, after the payload. */
export const TAG_LENGTH = 16
/** Header plus tag: the bytes a packet costs beyond its payload. */
export const OVERHEAD = HEADER_LENGTH + TAG_LENGTH

/**
 * Hard ceiling on the payload length field. Larger values are malformed whatever the relay's
 * configured budget; it keeps every valid datagram inside a 1,500 B Ethernet MTU over IPv6
 * (1,452 B of UDP payload).
 */
export const MAX_PAYLOAD = 1396
/** Default payload budget for what a service may send through the mesh (DESIGN.md: 1,200 B). */
export const DEFAULT_PAYLOAD_BUDGET = 1200

// Field offsets. Each comment gives the field's width.
export const OFF_VERSION = 0 // u8
export const OFF_TYPE = 1 // u8, PacketType
export const OFF_FLAGS = 2 // u8, Flag bits
export const OFF_CLASS = 3 // u8, traffic class (0 = best effort; higher is more urgent)
export const OFF_TTL = 4 // u8, hops left; zeroed while the tag is computed
export const OFF_KEY_ID = 5 // u8, names the mesh key that made the tag
export const OFF_SERVICE = 6 // u16, service the destination delivers to
export const OFF_LENGTH = 8 // u16, payload length in bytes
export const OFF_RESERVED = 10 // u16, must be zero in v1
export const OFF_SRC = 12 // u32, source relay number
export const OFF_DST = 16 // u32, destination relay number
export const OFF_FLOW = 20 // u32, flow id chosen by the source service
export const OFF_EPOCH = 24 // u32, source boot epoch (unix seconds at start)
export const OFF_SEQ_HI = 28 // u32, per-source sequence, high half (< 2^21 so it fits a double)
export const OFF_SEQ_LO = 32 // u32, per-source sequence, low half
export const OFF_TIMESTAMP = 36 // u32, source's monotonic clock in µs, modulo 2^32

/** Packet types (byte 1). */
export const PacketType = {
  /** Application payload for a service at the destination relay. */
  DATA: 1,
  /** Link probe to a direct neighbour; answered at once with PROBE_ECHO. */
  PROBE: 2,
  /** Answer to a PROBE, echoing its sequence and timestamp. */
  PROBE_ECHO: 3,
  /** Reserved for in-band control messages. */
  CONTROL: 4
} as const
export type PacketType = typeof PacketType[keyof typeof PacketType]
export const MAX_PACKET_TYPE = 4

/**
 * Flag bits (byte 2). None is defined in v1, so every bit must be zero. (Bit 0 was the tunnel's
 * REPLY bit until M6; a service's own framing now says what its packets are, so the header stays
 * free of service meanings: docs/wire.md, "Version history".)
 */
export const KNOWN_FLAGS = 0x00

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
/**
 * A relay's first sequence number is (the millisecond within its boot second) × 2^43. A relay
 * restarted within the same second then still starts above anything the old instance sent.
 */
export const SEQ_MS_SHIFT = 2 ** 43
