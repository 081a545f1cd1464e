import type dgram from 'node:dgram'
import type { Logger } from '../../src/logging.js'
import { closeUdp, createUdpSocket } from '../../src/transport/udp.js'
import type { MeshDelivery } from '../../src/mesh/delivery.js'
import type { Mesh } from '../../src/mesh/types.js'
import { Service } from '../../src/wire/constants.js'
import { Reason } from '../../src/wire/reasons.js'
import { frameTarget, REPLY_HEAD, type TunnelFrame } from './framing.js'
import { TUNNEL_SEND, type TunnelLimits } from './types.js'

const EMPTY = Buffer.alloc(0)

/** What the egress asks of its allow-list (EgressPolicy; tests may pass their own). */
export interface TargetPolicy {
  allows: (host: string, port: number) => boolean
}

interface EgressSession {
  src: number
  flow: number
  /** Traffic class of the session's first packet: replies go back in it. */
  cls: number
  host: string
  port: number
  lastSeen: number
  /** Null for a session refused by the policy or whose connect failed: later packets drop as egress_denied. */
  socket: dgram.Socket | null
  connected: boolean
  pending: Buffer[]
}

/** The sessions one ingress relay holds here, all from its current boot. */
class SourceRelay {
  epoch: number
  readonly flows = new Map<number, EgressSession>()
  constructor (epoch: number) { this.epoch = epoch }
}

/**
 * The egress end of tunnels: for each (source relay, boot epoch, flow) a UDP socket connected to
 * the target, so the target's replies arrive on it and go back to the source relay as reply
 * frames. A source relay that restarts (a newer epoch) loses its old sessions; one that sends
 * from an older epoch is refused. Each source relay may hold at most egressQuota sessions.
 */
export class TunnelEgress {
  private readonly mesh: Mesh
  private readonly policy: TargetPolicy
  private readonly limits: TunnelLimits
  private readonly log: Logger
  /** source relay number → its sessions. Two levels so no key string is built per packet. */
  private readonly bySrc = new Map<number, SourceRelay>()
  private count = 0
  private now = 0
  /** The gather list of every reply: [the reply head, the datagram]; reused, cleared after each send. */
  private readonly replyParts: Uint8Array[] = [REPLY_HEAD, EMPTY]

  constructor (components: { mesh: Mesh, logger: Logger }, policy: TargetPolicy, limits: TunnelLimits) {
    this.mesh = components.mesh
    this.log = components.logger
    this.policy = policy
    this.limits = limits
  }

  get sessionCount (): number { return this.count }

  /** Sessions held for one source relay (tests, inspection). */
  sessionsOf (src: number): number { return this.bySrc.get(src)?.flows.size ?? 0 }

  /** Handles a forward tunnel packet delivered to this relay; `f` is its parsed frame. */
  onData (d: MeshDelivery, f: TunnelFrame): void {
    let r = this.bySrc.get(d.src)
    if (r === undefined) {
      r = new SourceRelay(d.epoch)
      this.bySrc.set(d.src, r)
    } else if (d.epoch !== r.epoch) {
      // The source restarted (the data plane accepts nothing of an ended boot): its flows are new.
      this.closeAll(r)
      r.epoch = d.epoch
    }
    let s = r.flows.get(d.flow)
    if (s === undefined) {
      if (this.count >= this.limits.maxSessions || r.flows.size >= this.limits.egressQuota) { this.mesh.countDrop(Reason.QUEUE_FULL); return }
      s = this.open(d.src, d.flow, d.class, frameTarget(d.buf, f), f.port)
      r.flows.set(d.flow, s)
      this.count++
    }
    s.lastSeen = this.now
    const sock = s.socket
    if (sock === null) { this.mesh.countDrop(Reason.EGRESS_DENIED); return }
    // The mesh never reuses a packet's buffer (MeshHandler), so the datagram may wait for the send.
    const datagram = d.buf.subarray(f.dataOff, f.dataOff + f.dataLen)
    if (!s.connected) {
      if (s.pending.length >= this.limits.maxQueue) { this.mesh.countDrop(Reason.QUEUE_FULL); return }
      s.pending.push(datagram)
      return
    }
    if (sock.getSendQueueCount() >= this.limits.maxQueue) { this.mesh.countDrop(Reason.QUEUE_FULL); return }
    sock.send(datagram)
  }

  private open (src: number, flow: number, cls: number, host: string, port: number): EgressSession {
    const s: EgressSession = { src, flow, cls: cls < TUNNEL_SEND.length ? cls : 0, host, port, lastSeen: this.now, socket: null, connected: false, pending: [] }
    if (port === 0 || !this.policy.allows(host, port)) {
      this.log.warn({ src, flow, target: `${host}:${port}` }, 'tunnel target refused by egress policy')
      return s
    }
    const sock = createUdpSocket({ family: host.includes(':') ? 6 : 4, bufferBytes: 1024 * 1024 })
    s.socket = sock
    sock.on('error', (err) => {
      // Before the connect completes an error means it never will (the implicit bind failed).
      if (!s.connected) { this.fail(s, sock, err); return }
      // A connected UDP socket reports ICMP port-unreachable this way; the session stays.
      this.log.debug({ src, flow, err: err.message }, 'tunnel egress socket error')
    })
    sock.on('message', (msg) => { this.onTargetReply(s, msg) })
    // connect() fails for targets the host cannot send to: a broadcast address (EACCES), a network
    // with no route (ENETUNREACH), an IPv6 scope it lacks. Sending on the unconnected socket would
    // then throw, so the session is refused instead.
    try {
      sock.connect(port, host, (err?: Error) => {
        if (s.socket !== sock) return
        if (err !== undefined && err !== null) { this.fail(s, sock, err); return }
        s.connected = true
        for (const d of s.pending) sock.send(d)
        s.pending = []
      })
    } catch (err) {
      this.fail(s, sock, err as Error)
    }
    return s
  }

  /** Refuses a session whose socket cannot reach its target; what it held drops as egress_denied. */
  private fail (s: EgressSession, sock: dgram.Socket, err: Error): void {
    if (s.socket !== sock) return
    this.log.warn({ src: s.src, flow: s.flow, target: `${s.host}:${s.port}`, err: err.message }, 'tunnel target unreachable; session refused')
    s.socket = null
    s.connected = false
    for (let i = 0; i < s.pending.length; i++) this.mesh.countDrop(Reason.EGRESS_DENIED)
    s.pending = []
    closeUdp(sock)
  }

  private onTargetReply (s: EgressSession, msg: Buffer): void {
    if (msg.length > this.limits.payloadBudget) { this.mesh.countDrop(Reason.TOO_BIG); return }
    s.lastSeen = this.now
    const parts = this.replyParts
    parts[1] = msg
    this.mesh.send(s.src, Service.TUNNEL, s.flow, parts, TUNNEL_SEND[s.cls])
    parts[1] = EMPTY
  }

  sweep (nowMs: number): void {
    this.now = nowMs
    for (const [src, r] of this.bySrc) {
      for (const [flow, s] of r.flows) {
        if (nowMs - s.lastSeen > this.limits.idleMs) {
          close(s)
          r.flows.delete(flow)
          this.count--
        }
      }
      if (r.flows.size === 0) this.bySrc.delete(src)
    }
  }

  /** Keeps the shared clock reading of the tunnel service's timer, for lastSeen. */
  tick (nowMs: number): void { this.now = nowMs }

  stop (): void {
    for (const r of this.bySrc.values()) for (const s of r.flows.values()) close(s)
    this.bySrc.clear()
    this.count = 0
  }

  private closeAll (r: SourceRelay): void {
    for (const s of r.flows.values()) close(s)
    this.count -= r.flows.size
    r.flows.clear()
  }
}

function close (s: EgressSession): void {
  const sock = s.socket
  s.socket = null
  s.pending = []
  if (sock !== null) closeUdp(sock)
}
