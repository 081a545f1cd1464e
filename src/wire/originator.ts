import { AEAD_TAG_LENGTH, DEFAULT_TTL, Flag, HEADER_LENGTH, MAX_PAYLOAD, PacketType, TAG_LENGTH } from './constants.js'
import { PacketHeader, writeHeader } from './header.js'

export interface OriginatorInit {
  /** This relay's number. */
  src: number
  /** This relay's boot id. */
  boot: number
  /** Monotonic microseconds, for the send timestamp. */
  micros: () => number
}

/**
 * Builds the packets one relay originates: the end-to-end header, with room for the AEAD tag of a
 * sealed payload and for the link tag. The data plane fills the rest when it seals and sends.
 */
export class Originator {
  readonly src: number
  readonly boot: number
  private readonly micros: () => number
  private readonly h = new PacketHeader()

  constructor (init: OriginatorInit) {
    this.src = init.src
    this.boot = init.boot
    this.micros = init.micros
  }

  /**
   * Allocates a packet with room for `payloadLength` bytes at HEADER_LENGTH and writes its header.
   * Fill the payload, then hand it to the data plane (originate, or sendDirect for link-local
   * packets). A DATA or CONTROL payload is sealed unless `flags` has Flag.CLEAR.
   */
  begin (type: number, dst: number, service: number, flow: number, flags: number, trafficClass: number, payloadLength: number, ttl = DEFAULT_TTL): Buffer {
    const seal = (type === PacketType.DATA || type === PacketType.CONTROL) && (flags & Flag.CLEAR) === 0
    const field = payloadLength + (seal ? AEAD_TAG_LENGTH : 0)
    if (field > MAX_PAYLOAD) throw new TypeError(`payload length ${payloadLength} exceeds ${MAX_PAYLOAD - (seal ? AEAD_TAG_LENGTH : 0)}`)
    const buf = Buffer.allocUnsafe(HEADER_LENGTH + field + TAG_LENGTH)
    const h = this.h
    h.type = type
    h.flags = flags
    h.trafficClass = trafficClass
    h.ttl = ttl
    h.service = service
    h.payloadLength = field
    h.src = this.src
    h.dst = dst
    h.flow = flow
    h.srcBoot = this.boot
    h.hop = this.src
    h.timestamp = this.micros() >>> 0
    writeHeader(buf, h)
    return buf
  }
}
