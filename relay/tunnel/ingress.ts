import type dgram from 'node:dgram'
import { isIPv4 } from 'node:net'
import type { Logger } from '../../src/logging.js'
import { bindUdp, closeUdp, createUdpSocket } from '../../src/transport/udp.js'
import type { HostPort } from '../../src/transport/address.js'
import { HEADER_LENGTH, Service } from '../../src/wire/constants.js'
import { Reason } from '../../src/wire/reasons.js'
import type { TunnelSpec } from './spec.js'
import { TARGET_V4, TARGET_V6, type TunnelLimits, type TunnelPlane } from './types.js'

export interface IngressSession {
  flow: number
  host: string
  port: number
  lastSeen: number
  tunnel: TunnelIngress
}

/** Hands out relay-wide flow ids and finds a session by flow id when its replies come back. */
export class FlowTable {
  readonly byFlow = new Map<number, IngressSession>()
  private next = 1

  allocate (): number {
    for (;;) {
      const f = this.next
      this.next = this.next >= 0xffffffff ? 1 : this.next + 1
      if (!this.byFlow.has(f)) return f
    }
  }
}

/** Encodes the target framing once per tunnel; every packet starts with these bytes. */
export function targetPrefix (target: HostPort): Buffer {
  if (isIPv4(target.host)) {
    const b = Buffer.alloc(7)
    b[0] = TARGET_V4
    b.writeUInt16BE(target.port, 1)
    for (const [i, part] of target.host.split('.').entries()) b[3 + i] = Number(part)
    return b
  }
  const b = Buffer.alloc(19)
  b[0] = TARGET_V6
  b.writeUInt16BE(target.port, 1)
  ipv6Bytes(target.host).copy(b, 3)
  return b
}

function ipv6Bytes (host: string): Buffer {
  const [head, tail] = host.includes('::') ? host.split('::') : [host, undefined]
  const parse = (s: string | undefined): number[] => (s === undefined || s === '' ? [] : s.split(':').map((x) => parseInt(x, 16)))
  const h = parse(head); const t = parse(tail)
  const words = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill(0), ...t]
  const b = Buffer.alloc(16)
  words.forEach((w, i) => b.writeUInt16BE(w, i * 2))
  return b
}

/**
 * One --tunnel at its ingress relay: a UDP socket where applications send, one session per sender
 * address, each with its own flow id so replies find their way back.
 */
export class TunnelIngress {
  readonly spec: TunnelSpec
  readonly dst: number
  private readonly plane: TunnelPlane
  private readonly flows: FlowTable
  private readonly limits: TunnelLimits
  private readonly log: Logger
  private readonly prefix: Buffer
  private readonly sessions = new Map<string, IngressSession>()
  /** The last sender's session: most tunnels carry one sender, so most packets skip the key. */
  private last: IngressSession | undefined
  private socket: dgram.Socket | undefined
  private now = 0
  bound: HostPort | undefined

  constructor (components: { plane: TunnelPlane, flows: FlowTable, logger: Logger }, spec: TunnelSpec, dst: number, limits: TunnelLimits) {
    this.plane = components.plane
    this.flows = components.flows
    this.log = components.logger
    this.spec = spec
    this.dst = dst
    this.limits = limits
    this.prefix = targetPrefix(spec.target)
  }

  async start (nowMs: number): Promise<void> {
    this.now = nowMs
    const s = createUdpSocket({ family: this.spec.listen.family })
    s.on('error', (err) => { this.log.warn({ err: err.message, tunnel: this.spec.text }, 'tunnel socket error') })
    s.on('message', (msg, rinfo) => { this.onDatagram(msg, rinfo.address, rinfo.port) })
    this.bound = await bindUdp(s, this.spec.listen)
    this.socket = s
  }

  stop (): void {
    if (this.socket !== undefined) closeUdp(this.socket)
    this.socket = undefined
    for (const s of this.sessions.values()) this.flows.byFlow.delete(s.flow)
    this.sessions.clear()
    this.last = undefined
  }

  get sessionCount (): number { return this.sessions.size }

  private onDatagram (msg: Buffer, host: string, port: number): void {
    if (msg.length > this.limits.payloadBudget) { this.plane.countDrop(Reason.TOO_BIG); return }
    let s = this.last
    if (s === undefined || s.port !== port || s.host !== host) s = this.lookup(host, port)
    if (s === undefined) return
    s.lastSeen = this.now
    const p = this.prefix
    const buf = this.plane.begin(this.dst, Service.TUNNEL, s.flow, 0, p.length + msg.length)
    p.copy(buf, HEADER_LENGTH)
    msg.copy(buf, HEADER_LENGTH + p.length)
    this.plane.originate(buf)
  }

  /** The sender's session, opened if new; undefined (counted) when the session table is full. */
  private lookup (host: string, port: number): IngressSession | undefined {
    const key = host + '|' + port
    let s = this.sessions.get(key)
    if (s === undefined) {
      if (this.sessions.size >= this.limits.maxSessions) { this.plane.countDrop(Reason.QUEUE_FULL); return undefined }
      s = { flow: this.flows.allocate(), host, port, lastSeen: this.now, tunnel: this }
      this.sessions.set(key, s)
      this.flows.byFlow.set(s.flow, s)
      this.log.debug({ tunnel: this.spec.text, flow: s.flow, sender: key }, 'tunnel session opened')
    }
    this.last = s
    return s
  }

  /** Sends a reply that came back through the mesh to the session's sender. */
  reply (s: IngressSession, buf: Buffer, len: number): void {
    const sock = this.socket
    if (sock === undefined) return
    if (sock.getSendQueueCount() >= this.limits.maxQueue) { this.plane.countDrop(Reason.QUEUE_FULL); return }
    s.lastSeen = this.now
    sock.send(buf.subarray(HEADER_LENGTH, HEADER_LENGTH + len), s.port, s.host)
  }

  /** Forgets sessions idle longer than the limit. */
  sweep (nowMs: number): void {
    this.now = nowMs
    for (const [key, s] of this.sessions) {
      if (nowMs - s.lastSeen > this.limits.idleMs) {
        this.sessions.delete(key)
        this.flows.byFlow.delete(s.flow)
        if (this.last === s) this.last = undefined
      }
    }
  }
}
