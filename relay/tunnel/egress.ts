import type dgram from 'node:dgram'
import type { Logger } from '../../src/logging.js'
import { closeUdp, createUdpSocket } from '../../src/transport/udp.js'
import { Flag, HEADER_LENGTH, Service } from '../../src/wire/constants.js'
import type { PacketHeader } from '../../src/wire/header.js'
import { Reason } from '../../src/wire/reasons.js'
import type { EgressPolicy } from './egress-policy.js'
import { TARGET_V4, TARGET_V6, type TunnelLimits, type TunnelPlane } from './types.js'

interface EgressSession {
  src: number
  flow: number
  host: string
  port: number
  lastSeen: number
  /** Null for a session refused by the egress policy: remembered so the check runs once. */
  socket: dgram.Socket | null
  connected: boolean
  pending: Buffer[]
}

/**
 * The egress end of tunnels: for each (source relay, flow) a UDP socket connected to the target,
 * so the target's replies arrive on it and go back to the source relay as REPLY packets.
 */
export class TunnelEgress {
  private readonly plane: TunnelPlane
  private readonly policy: EgressPolicy
  private readonly limits: TunnelLimits
  private readonly log: Logger
  /** source relay number → flow id → session. Two levels so no key string is built per packet. */
  private readonly bySrc = new Map<number, Map<number, EgressSession>>()
  private count = 0
  private now = 0

  constructor (components: { plane: TunnelPlane, logger: Logger }, policy: EgressPolicy, limits: TunnelLimits) {
    this.plane = components.plane
    this.log = components.logger
    this.policy = policy
    this.limits = limits
  }

  get sessionCount (): number { return this.count }

  /** Handles a forward tunnel packet delivered to this relay. */
  onData (h: PacketHeader, buf: Buffer): void {
    const off = HEADER_LENGTH
    const kind = buf[off]
    const addrLen = kind === TARGET_V4 ? 4 : kind === TARGET_V6 ? 16 : -1
    const start = off + 3 + addrLen
    if (addrLen < 0 || h.payloadLength < 3 + addrLen) { this.plane.countDrop(Reason.MALFORMED); return }
    let flows = this.bySrc.get(h.src)
    let s = flows?.get(h.flow)
    if (s === undefined) {
      if (this.count >= this.limits.maxSessions) { this.plane.countDrop(Reason.QUEUE_FULL); return }
      if (flows === undefined) { flows = new Map(); this.bySrc.set(h.src, flows) }
      s = this.open(h.src, h.flow, readHost(buf, off + 3, addrLen), (buf[off + 1] << 8) | buf[off + 2])
      flows.set(h.flow, s)
      this.count++
    }
    s.lastSeen = this.now
    const sock = s.socket
    if (sock === null) { this.plane.countDrop(Reason.EGRESS_DENIED); return }
    const datagram = buf.subarray(start, off + h.payloadLength)
    if (!s.connected) {
      if (s.pending.length >= this.limits.maxQueue) { this.plane.countDrop(Reason.QUEUE_FULL); return }
      s.pending.push(datagram)
      return
    }
    if (sock.getSendQueueCount() >= this.limits.maxQueue) { this.plane.countDrop(Reason.QUEUE_FULL); return }
    sock.send(datagram)
  }

  private open (src: number, flow: number, host: string, port: number): EgressSession {
    const s: EgressSession = { src, flow, host, port, lastSeen: this.now, socket: null, connected: false, pending: [] }
    if (port === 0 || !this.policy.allows(host, port)) {
      this.log.warn({ src, flow, target: `${host}:${port}` }, 'tunnel target refused by egress policy')
      return s
    }
    const sock = createUdpSocket({ family: host.includes(':') ? 6 : 4, bufferBytes: 1024 * 1024 })
    s.socket = sock
    sock.on('error', (err) => {
      // A connected UDP socket reports ICMP port-unreachable this way; the session stays.
      this.log.debug({ src, flow, err: err.message }, 'tunnel egress socket error')
    })
    sock.on('message', (msg) => { this.onTargetReply(s, msg) })
    sock.connect(port, host, () => {
      s.connected = true
      for (const d of s.pending) sock.send(d)
      s.pending = []
    })
    return s
  }

  private onTargetReply (s: EgressSession, msg: Buffer): void {
    if (msg.length > this.limits.payloadBudget) { this.plane.countDrop(Reason.TOO_BIG); return }
    s.lastSeen = this.now
    const buf = this.plane.begin(s.src, Service.TUNNEL, s.flow, Flag.REPLY, msg.length)
    msg.copy(buf, HEADER_LENGTH)
    this.plane.originate(buf)
  }

  sweep (nowMs: number): void {
    this.now = nowMs
    for (const [src, flows] of this.bySrc) {
      for (const [flow, s] of flows) {
        if (nowMs - s.lastSeen > this.limits.idleMs) {
          if (s.socket !== null) closeUdp(s.socket)
          flows.delete(flow)
          this.count--
        }
      }
      if (flows.size === 0) this.bySrc.delete(src)
    }
  }

  stop (): void {
    for (const flows of this.bySrc.values()) {
      for (const s of flows.values()) if (s.socket !== null) closeUdp(s.socket)
    }
    this.bySrc.clear()
    this.count = 0
  }
}

function readHost (buf: Buffer, off: number, len: number): string {
  if (len === 4) return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`
  const words: string[] = []
  for (let i = 0; i < 16; i += 2) words.push(((buf[off + i] << 8) | buf[off + i + 1]).toString(16))
  return words.join(':')
}
