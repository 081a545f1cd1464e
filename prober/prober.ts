import { microsOf, type Clock, type Timer } from '../src/clock.js'
import { TypedEmitter } from '../src/events.js'
import type { Logger } from '../src/logging.js'
import { ECHO_PAYLOAD, HEADER_LENGTH, PROBE_PAYLOAD, PacketType } from '../src/wire/constants.js'
import { type PacketHeader, putU32, u32 } from '../src/wire/header.js'
import { Reason } from '../src/wire/reasons.js'
import { TICK_MS } from './constants.js'
import { LinkMonitor, TICK_PROBE, TICK_WENT_DOWN, type LinkEstimate, type LinkMonitorOptions } from './link-monitor.js'

/** A direct neighbour to probe. */
export interface Neighbour {
  id: string
  number: number
  host: string
  port: number
}

/** How the prober reaches the wire; the relay implements it over its mesh socket. */
export interface ProbeTransport {
  /** Allocates a link-local packet (service LINK, TTL 1) with its header written. */
  begin: (type: number, dst: number, payloadLength: number) => Buffer
  /** Signs the packet and sends it straight to the address. */
  send: (buf: Buffer, host: string, port: number) => void
  countDrop: (reason: Reason) => void
}

export interface LinkStatus extends LinkEstimate {
  peer: string
}

export type ProberEvents = {
  linkup: [peer: string]
  linkdown: [peer: string]
}

interface Link {
  n: Neighbour
  m: LinkMonitor
}

/**
 * Probes every neighbour on one schedule, answers their probes, and keeps a LinkMonitor per link.
 * The shell around the pure monitors: one timer for all links, no per-probe allocation beyond the
 * packet itself.
 */
export class Prober {
  readonly events: TypedEmitter<ProberEvents>
  private readonly clock: Clock
  private readonly log: Logger
  private readonly transport: ProbeTransport
  private readonly monitorOpts: Partial<LinkMonitorOptions>
  private readonly micros: () => number
  private readonly links = new Map<number, Link>()
  private timer: Timer | undefined

  constructor (components: { clock: Clock, logger: Logger, transport: ProbeTransport }, init: { neighbours?: Neighbour[], monitor?: Partial<LinkMonitorOptions> } = {}) {
    this.clock = components.clock
    this.log = components.logger.child({ component: 'prober' })
    this.transport = components.transport
    this.monitorOpts = init.monitor ?? {}
    this.micros = microsOf(this.clock)
    this.events = new TypedEmitter<ProberEvents>(this.log)
    this.setNeighbours(init.neighbours ?? [])
  }

  /** Replaces the neighbour set; links that stay keep their measurements. */
  setNeighbours (list: Neighbour[]): void {
    const keep = new Set(list.map((n) => n.number))
    for (const num of this.links.keys()) if (!keep.has(num)) this.links.delete(num)
    const now = this.clock.monoMs()
    for (const n of list) {
      const l = this.links.get(n.number)
      if (l === undefined) this.links.set(n.number, { n, m: new LinkMonitor(now, this.monitorOpts) })
      else l.n = n
    }
  }

  start (): void {
    if (this.timer !== undefined) return
    this.timer = this.clock.setInterval(() => { this.tick() }, TICK_MS)
  }

  stop (): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer)
    this.timer = undefined
  }

  /** Sends due probes and checks every link for silence. Public for tests on a manual clock. */
  tick (): void {
    const now = this.clock.monoMs()
    for (const l of this.links.values()) {
      const did = l.m.tick(now)
      if ((did & TICK_WENT_DOWN) !== 0) {
        this.log.warn({ peer: l.n.id, silentMs: Math.round(l.m.downAfter()) }, 'link down')
        this.events.emit('linkdown', l.n.id)
      }
      if ((did & TICK_PROBE) !== 0) this.sendProbe(l, l.m.probeSeq - 1)
    }
  }

  private sendProbe (l: Link, seq: number): void {
    const buf = this.transport.begin(PacketType.PROBE, l.n.number, PROBE_PAYLOAD)
    putU32(buf, HEADER_LENGTH, seq)
    putU32(buf, HEADER_LENGTH + 4, 0)
    this.transport.send(buf, l.n.host, l.n.port)
  }

  /** Link handler for the data plane: PROBE and PROBE_ECHO addressed to this relay. */
  readonly handle = (h: PacketHeader, buf: Buffer, fromHost: string, fromPort: number): void => {
    const l = this.links.get(h.src)
    if (l === undefined) { this.transport.countDrop(Reason.UNKNOWN_SERVICE); return }
    if (h.type === PacketType.PROBE) {
      if (h.payloadLength !== PROBE_PAYLOAD) { this.transport.countDrop(Reason.MALFORMED); return }
      // UDP port 0 cannot be answered: sending to it throws (from inside the socket's handler).
      if (fromPort === 0) { this.transport.countDrop(Reason.MALFORMED); return }
      const rx = l.m.probeReceived()
      const echo = this.transport.begin(PacketType.PROBE_ECHO, h.src, ECHO_PAYLOAD)
      putU32(echo, HEADER_LENGTH, u32(buf, HEADER_LENGTH))
      putU32(echo, HEADER_LENGTH + 4, h.timestamp)
      putU32(echo, HEADER_LENGTH + 8, rx)
      putU32(echo, HEADER_LENGTH + 12, 0)
      // Answer to where the probe came from, so echoes cross the same path (NAT, proxies) back.
      this.transport.send(echo, fromHost, fromPort)
      return
    }
    if (h.type === PacketType.PROBE_ECHO) {
      if (h.payloadLength !== ECHO_PAYLOAD) { this.transport.countDrop(Reason.MALFORMED); return }
      const now = this.clock.monoMs()
      const sentUs = u32(buf, HEADER_LENGTH + 4)
      const rttMs = ((this.micros() - sentUs) >>> 0) / 1000
      if (l.m.echo(now, u32(buf, HEADER_LENGTH), rttMs, u32(buf, HEADER_LENGTH + 8), h.srcBoot)) {
        this.log.info({ peer: l.n.id, rttMs: Math.round(rttMs * 100) / 100 }, 'link up')
        this.events.emit('linkup', l.n.id)
      }
      return
    }
    this.transport.countDrop(Reason.UNKNOWN_SERVICE)
  }

  /** True when the link to relay `number` is up. */
  isUp (number: number): boolean {
    return this.links.get(number)?.m.state === 'up'
  }

  /** The smoothed RTT of the link to relay `number` in ms, or undefined before its first echo. */
  rttOf (number: number): number | undefined {
    const srtt = this.links.get(number)?.m.rtt.srtt
    return srtt === undefined || Number.isNaN(srtt) ? undefined : srtt
  }

  status (): LinkStatus[] {
    const now = this.clock.monoMs()
    return [...this.links.values()].map((l) => ({ peer: l.n.id, ...l.m.estimate(now) }))
  }

  /** The monitor of one link, for measurement harnesses. */
  monitor (id: string): LinkMonitor | undefined {
    for (const l of this.links.values()) if (l.n.id === id) return l.m
    return undefined
  }
}
