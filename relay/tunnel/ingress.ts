import { randomFillSync } from 'node:crypto'
import type dgram from 'node:dgram'
import { isIPv4 } from 'node:net'
import type { Logger } from '../../src/logging.js'
import { bindUdp, closeUdp, createUdpSocket } from '../../src/transport/udp.js'
import type { HostPort } from '../../src/transport/address.js'
import { HEADER_LENGTH, Service } from '../../src/wire/constants.js'
import { Reason } from '../../src/wire/reasons.js'
import { ipv6Bytes } from './ip.js'
import type { SourceGate, TunnelSource } from './source-gate.js'
import type { TunnelSpec } from './spec.js'
import { TARGET_V4, TARGET_V6, type TunnelLimits, type TunnelPlane } from './types.js'

export interface IngressSession {
  flow: number
  host: string
  port: number
  lastSeen: number
  source: TunnelSource
  tunnel: TunnelIngress
}

/**
 * Hands out relay-wide flow ids and finds a session by flow id when its replies come back. Ids are
 * random, not counted: a restarted ingress (or another sender) cannot guess or reuse a flow an
 * egress still holds for an earlier user, even within one boot epoch.
 */
export class FlowTable {
  readonly byFlow = new Map<number, IngressSession>()
  private readonly pool = new Uint32Array(64)
  private used = this.pool.length

  allocate (): number {
    for (;;) {
      if (this.used === this.pool.length) { randomFillSync(this.pool); this.used = 0 }
      const f = this.pool[this.used++]
      if (f !== 0 && !this.byFlow.has(f)) return f
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
  ;(ipv6Bytes(target.host) as Buffer).copy(b, 3)
  return b
}

/**
 * One --tunnel at its ingress relay: a UDP socket where applications send, one session per sender
 * address, each with its own flow id so replies find their way back. Senders must pass the
 * relay's SourceGate (--tunnel-allow-source and the per-source rate).
 */
export class TunnelIngress {
  readonly spec: TunnelSpec
  readonly dst: number
  private readonly plane: TunnelPlane
  private readonly flows: FlowTable
  private readonly gate: SourceGate
  private readonly limits: TunnelLimits
  private readonly log: Logger
  private readonly prefix: Buffer
  /** Sender host → sender port → session; two levels so no key string is built per packet. */
  private readonly sessions = new Map<string, Map<number, IngressSession>>()
  private count = 0
  /** The last sender's session: most tunnels carry one sender, so most packets skip the maps. */
  private last: IngressSession | undefined
  private socket: dgram.Socket | undefined
  private now = 0
  bound: HostPort | undefined

  constructor (components: { plane: TunnelPlane, flows: FlowTable, gate: SourceGate, logger: Logger }, spec: TunnelSpec, dst: number, limits: TunnelLimits) {
    this.plane = components.plane
    this.flows = components.flows
    this.gate = components.gate
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
    const host = this.spec.listen.host
    if (host === '0.0.0.0' || host === '::') {
      this.log.warn({ tunnel: this.spec.text }, 'tunnel listens on a wildcard address: it takes datagrams from every network this host is on, and only --tunnel-allow-source limits who may use it')
    }
  }

  stop (): void {
    if (this.socket !== undefined) closeUdp(this.socket)
    this.socket = undefined
    for (const ports of this.sessions.values()) for (const s of ports.values()) this.forget(s)
    this.sessions.clear()
    this.count = 0
    this.last = undefined
  }

  get sessionCount (): number { return this.count }

  /** Per packet: no allocation on the path of a known sender. */
  onDatagram (msg: Buffer, host: string, port: number): void {
    if (msg.length > this.limits.payloadBudget) { this.plane.countDrop(Reason.TOO_BIG); return }
    let s = this.last
    if (s === undefined || s.port !== port || s.host !== host) {
      s = this.lookup(host, port)
      if (s === undefined) return
    }
    if (!this.gate.take(s.source)) return
    s.lastSeen = this.now
    const p = this.prefix
    const buf = this.plane.begin(this.dst, Service.TUNNEL, s.flow, 0, p.length + msg.length)
    p.copy(buf, HEADER_LENGTH)
    msg.copy(buf, HEADER_LENGTH + p.length)
    this.plane.originate(buf)
  }

  /** The sender's session, opened if new; undefined (counted) when it may not have one. */
  private lookup (host: string, port: number): IngressSession | undefined {
    let ports = this.sessions.get(host)
    let s = ports?.get(port)
    if (s === undefined) {
      // Port 0 cannot be answered (sending to it throws), and no real sender uses it.
      if (port === 0) { this.plane.countDrop(Reason.MALFORMED); return undefined }
      if (this.count >= this.limits.maxSessions) { this.plane.countDrop(Reason.QUEUE_FULL); return undefined }
      const source = this.gate.open(host, this.now)
      if (source === undefined) return undefined
      s = { flow: this.flows.allocate(), host, port, lastSeen: this.now, source, tunnel: this }
      source.sessions++
      if (ports === undefined) { ports = new Map(); this.sessions.set(host, ports) }
      ports.set(port, s)
      this.count++
      this.flows.byFlow.set(s.flow, s)
      this.log.debug({ tunnel: this.spec.text, flow: s.flow, sender: `${host}:${port}` }, 'tunnel session opened')
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
    for (const [host, ports] of this.sessions) {
      for (const [port, s] of ports) {
        if (nowMs - s.lastSeen <= this.limits.idleMs) continue
        ports.delete(port)
        this.count--
        this.forget(s)
      }
      if (ports.size === 0) this.sessions.delete(host)
    }
  }

  /** Keeps the shared clock reading of the tunnel service's timer, for lastSeen. */
  tick (nowMs: number): void { this.now = nowMs }

  private forget (s: IngressSession): void {
    this.flows.byFlow.delete(s.flow)
    s.source.sessions--
    if (this.last === s) this.last = undefined
  }
}
