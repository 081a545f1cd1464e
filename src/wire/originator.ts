import { DEFAULT_TTL, HEADER_LENGTH, MAX_PAYLOAD, SEQ_MS_SHIFT, TAG_LENGTH } from './constants.js'
import { PacketHeader, writeHeader } from './header.js'
import type { PacketAuth } from './auth.js'

export interface OriginatorInit {
  /** This relay's number. */
  src: number
  /** Wall-clock milliseconds at boot; gives the epoch and the first sequence number. */
  bootMs: number
  /** Monotonic microseconds, for the send timestamp. */
  micros: () => number
}

/**
 * Builds the packets one relay originates: assigns the per-source sequence, stamps the epoch and
 * send time, and signs. One per relay, so the sequence is shared by every service on it.
 */
export class Originator {
  readonly src: number
  readonly epoch: number
  private seq: number
  private readonly auth: PacketAuth
  private readonly micros: () => number
  private readonly h = new PacketHeader()

  constructor (auth: PacketAuth, init: OriginatorInit) {
    this.auth = auth
    this.src = init.src
    this.epoch = Math.floor(init.bootMs / 1000) >>> 0
    this.seq = (init.bootMs % 1000) * SEQ_MS_SHIFT
    this.micros = init.micros
  }

  /**
   * Allocates a packet with room for `payloadLength` bytes at HEADER_LENGTH and writes its header.
   * Fill the payload, then call seal().
   */
  begin (type: number, dst: number, service: number, flow: number, flags: number, trafficClass: number, payloadLength: number, ttl = DEFAULT_TTL): Buffer {
    if (payloadLength > MAX_PAYLOAD) throw new TypeError(`payload length ${payloadLength} exceeds ${MAX_PAYLOAD}`)
    const buf = Buffer.allocUnsafe(HEADER_LENGTH + payloadLength + TAG_LENGTH)
    const h = this.h
    h.type = type
    h.flags = flags
    h.trafficClass = trafficClass
    h.ttl = ttl
    h.keyId = this.auth.keyId
    h.service = service
    h.payloadLength = payloadLength
    h.src = this.src
    h.dst = dst
    h.flow = flow
    h.epoch = this.epoch
    h.seq = this.seq++
    h.timestamp = this.micros() >>> 0
    writeHeader(buf, h)
    return buf
  }

  seal (buf: Buffer): void {
    this.auth.sign(buf)
  }

  /** The next sequence number this originator will use. */
  get nextSeq (): number { return this.seq }
}
