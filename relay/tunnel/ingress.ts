import { randomFillSync } from 'node:crypto'
import type dgram from 'node:dgram'
import type { Logger } from '../../src/logging.js'
import { bindUdp, closeUdp, createUdpSocket } from '../../src/transport/udp.js'
import type { HostPort } from '../../src/transport/address.js'
import type { Mesh } from '../../src/mesh/types.js'
import { Service } from '../../src/wire/constants.js'
import { Reason } from '../../src/wire/reasons.js'
import { encodeFrameHead } from './framing.js'
import type { SourceGate, TunnelSource } from './source-gate.js'
import type { TunnelSpec } from './spec.js'
import { TUNNEL_SEND, type TunnelLimits } from './types.js'

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

const EMPTY = Buffer.alloc(0)

/**
 * One --tunnel at its ingress relay: a UDP socket where applications send, one session per sender
 * address, each with its own flow id so replies find their way back. Senders must pass the
 * relay's SourceGate (--tunnel-allow-source and the per-source rate).
 */
export class TunnelIngress {
  readonly spec: TunnelSpec
  readonly dst: number
  private readonly mesh: Mesh
  private readonly flows: FlowTable
  private readonly gate: SourceGate
  private readonly limits: TunnelLimits
  private readonly log: Logger
  /**
   * The gather list of every send: [the tunnel's forward head, the datagram]. Reused, so a packet
   * costs no array; the datagram slot is cleared after each send.
   */
  private readonly parts: Uint8Array[]
  /** Sender host → sender port → session; two levels so no key string is built per packet. */
  private readonly sessions = new Map<string, Map<number, IngressSession>>()
  private count = 0
  /** The last sender's session: most tunnels carry one sender, so most packets skip the maps. */
  private last: IngressSession | undefined
  private socket: dgram.Socket | undefined
  private now = 0
  bound: HostPort | undefined

  constructor (components: { mesh: Mesh, flows: FlowTable, gate: SourceGate, logger: Logger }, spec: TunnelSpec, dst: number, limits: TunnelLimits) {
    this.mesh = components.mesh
    this.flows = components.flows
    this.gate = components.gate
    this.log = components.logger
    this.spec = spec
    this.dst = dst
    this.limits = limits
    this.parts = [encodeFrameHead(spec.target), EMPTY]
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
    if (msg.length > this.limits.payloadBudget) { this.mesh.countDrop(Reason.TOO_BIG); return }
    let s = this.last
    if (s === undefined || s.port !== port || s.host !== host) {
      s = this.lookup(host, port)
      if (s === undefined) return
    }
    if (!this.gate.take(s.source)) return
    s.lastSeen = this.now
    const parts = this.parts
    parts[1] = msg
    this.mesh.send(this.dst, Service.TUNNEL, s.flow, parts, TUNNEL_SEND[this.spec.trafficClass])
    parts[1] = EMPTY
  }

  /** The sender's session, opened if new; undefined (counted) when it may not have one. */
  private lookup (host: string, port: number): IngressSession | undefined {
    let ports = this.sessions.get(host)
    let s = ports?.get(port)
    if (s === undefined) {
      // Port 0 cannot be answered (sending to it throws), and no real sender uses it.
      if (port === 0) { this.mesh.countDrop(Reason.MALFORMED); return undefined }
      if (this.count >= this.limits.maxSessions) { this.mesh.countDrop(Reason.QUEUE_FULL); return undefined }
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

  /** Sends a reply that came back through the mesh, buf[off, off + len), to the session's sender. */
  reply (s: IngressSession, buf: Buffer, off: number, len: number): void {
    const sock = this.socket
    if (sock === undefined) return
    if (sock.getSendQueueCount() >= this.limits.maxQueue) { this.mesh.countDrop(Reason.QUEUE_FULL); return }
    s.lastSeen = this.now
    sock.send(buf.subarray(off, off + len), s.port, s.host)
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
