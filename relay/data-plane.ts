import type { PacketAuth } from '../src/wire/auth.js'
import { OFF_DST, OFF_TTL, PacketType } from '../src/wire/constants.js'
import { PacketHeader, parseHeader, u32 } from '../src/wire/header.js'
import { REASON_COUNT, Reason } from '../src/wire/reasons.js'
import { ReplayWindows, Seen } from '../src/wire/replay-window.js'
import { forwardVerdict, Verdict } from './forward-verdict.js'
import type { Route, PacketPath, ServiceHandler } from './types.js'

/** What the data plane needs of the mesh socket. */
export interface MeshSocket {
  send: (buf: Buffer, port: number, host: string) => void
  /** Datagrams queued in user space because the kernel buffer was full. */
  getSendQueueCount: () => number
}

/** Handles link-local packets (probes and echoes) once they passed auth and replay checks. */
export type LinkHandler = (h: PacketHeader, buf: Buffer, fromHost: string, fromPort: number) => void

export interface DataPlaneInit {
  /** This relay's number. */
  self: number
  /** Datagrams allowed to wait in user space before the send path drops with queue_full. */
  maxSendQueue?: number
}

/** Counters the data plane keeps; plain numbers so the hot path never touches a metrics library. */
export class DataPlaneCounters {
  received = 0
  forwarded = 0
  originated = 0
  /** Indexed by Reason. */
  readonly dropped = new Float64Array(REASON_COUNT)
  /** Delivered packets per service id. */
  readonly delivered = new Map<number, number>()
}

/**
 * The per-packet path: parse, verify; in transit TTL, loop and replay checks, then look up the next
 * hop, decrement the TTL and send; at the destination the replay check, then deliver. All on the
 * buffer node:dgram handed us. No allocation, no await. docs/wire.md gives the order of the checks.
 */
export class DataPlane implements PacketPath {
  readonly counters = new DataPlaneCounters()
  private readonly self: number
  private readonly auth: PacketAuth
  private readonly socket: MeshSocket
  private readonly maxSendQueue: number
  private readonly h = new PacketHeader()
  private readonly replay = new ReplayWindows()
  private routes = new Map<number, Route>()
  private readonly services = new Map<number, ServiceHandler>()
  private linkHandler: LinkHandler | undefined

  constructor (auth: PacketAuth, socket: MeshSocket, init: DataPlaneInit) {
    this.auth = auth
    this.socket = socket
    this.self = init.self
    this.maxSendQueue = init.maxSendQueue ?? 1024
  }

  /** Replaces the forwarding table in one step. */
  setRoutes (routes: Iterable<Route>): void {
    const next = new Map<number, Route>()
    for (const r of routes) next.set(r.dst, r)
    this.routes = next
  }

  getRoute (dst: number): Route | undefined { return this.routes.get(dst) }

  registerService (service: number, handler: ServiceHandler): void {
    if (this.services.has(service)) throw new TypeError(`service ${service} is already registered`)
    this.services.set(service, handler)
  }

  unregisterService (service: number): void { this.services.delete(service) }

  setLinkHandler (handler: LinkHandler): void { this.linkHandler = handler }

  receive (buf: Buffer, fromHost: string, fromPort: number): void {
    const c = this.counters
    c.received++
    const h = this.h
    const r = parseHeader(buf, buf.length, h)
    if (r !== Reason.OK) { c.dropped[r]++; return }
    if (!this.auth.verify(buf)) { c.dropped[Reason.BAD_AUTH]++; return }
    if (h.type === PacketType.DATA) { this.data(h, buf); return }
    // Link-local. We never send ourselves a packet over the wire, so one bearing our own source
    // number is a copy sent back at us: a replay, as for DATA at its destination.
    if (h.src === this.self || this.replay.check(h.src, h.epoch, h.seq) !== Seen.NEW) { c.dropped[Reason.REPLAY]++; return }
    if (h.dst !== this.self || this.linkHandler === undefined) { c.dropped[Reason.UNKNOWN_SERVICE]++; return }
    this.linkHandler(h, buf, fromHost, fromPort)
  }

  /**
   * A DATA packet: forwardVerdict (relay/forward-verdict.ts) decides, as it does in model mode.
   * The window is checked at every hop, not only the last: a packet that comes back to a relay it
   * passed dies there the first time (a loop), and a copy injected mid-path dies where it lands.
   */
  private data (h: PacketHeader, buf: Buffer): void {
    const c = this.counters
    const route = h.dst === this.self ? undefined : this.routes.get(h.dst)
    const v = forwardVerdict(this.self, h.src, h.dst, h.ttl, h.epoch, h.seq, this.replay, route !== undefined)
    if (v === Verdict.FORWARD) {
      buf[OFF_TTL] = h.ttl - 1
      if (this.send(route as Route, buf) === Reason.OK) c.forwarded++
    } else if (v === Verdict.DELIVER) {
      this.deliver(h, buf)
    } else {
      c.dropped[v]++
    }
  }

  originate (buf: Buffer): Reason {
    this.auth.sign(buf)
    this.counters.originated++
    const dst = u32(buf, OFF_DST)
    if (dst === this.self) {
      const h = this.h
      parseHeader(buf, buf.length, h)
      this.deliver(h, buf)
      return Reason.OK
    }
    return this.forward(dst, buf)
  }

  /** Sends a link-local packet (probe or echo) straight to a neighbour's address. */
  sendDirect (buf: Buffer, host: string, port: number): Reason {
    this.auth.sign(buf)
    if (this.socket.getSendQueueCount() >= this.maxSendQueue) { this.counters.dropped[Reason.QUEUE_FULL]++; return Reason.QUEUE_FULL }
    this.socket.send(buf, port, host)
    return Reason.OK
  }

  /** Counts a drop decided outside the data plane (tunnels, services). */
  countDrop (reason: Reason): void { this.counters.dropped[reason]++ }

  private forward (dst: number, buf: Buffer): Reason {
    const route = this.routes.get(dst)
    if (route === undefined) { this.counters.dropped[Reason.NO_ROUTE]++; return Reason.NO_ROUTE }
    return this.send(route, buf)
  }

  private send (route: Route, buf: Buffer): Reason {
    if (this.socket.getSendQueueCount() >= this.maxSendQueue) { this.counters.dropped[Reason.QUEUE_FULL]++; return Reason.QUEUE_FULL }
    const hop = route.nextHop
    this.socket.send(buf, hop.port, hop.host)
    return Reason.OK
  }

  private deliver (h: PacketHeader, buf: Buffer): void {
    const handler = this.services.get(h.service)
    if (handler === undefined) { this.counters.dropped[Reason.UNKNOWN_SERVICE]++; return }
    const d = this.counters.delivered
    d.set(h.service, (d.get(h.service) ?? 0) + 1)
    handler(h, buf)
  }
}
