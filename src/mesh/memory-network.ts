/**
 * An in-memory datagram network of relays, FOR UNIT TESTS OF HOSTED SERVICES ONLY. It is not a
 * transport: no wire format, no authentication, no routing, no TTL. Every relay reaches every
 * other directly, and a packet is lost or delayed by the figures of its (from, to) pair, drawn
 * from a seeded PRNG so that a run repeats exactly under a manual clock. Several relays live in one
 * process, each a Mesh like the one a relay daemon gives its services, so a service (the tunnel,
 * a signaling tree) can be tested across relays without sockets between them.
 * Integration tests use real relays over real UDP instead.
 */
import type { Clock } from '../clock.js'
import { Prng } from '../prng.js'
import { MAX_PAYLOAD } from '../wire/constants.js'
import { Reason, REASON_COUNT } from '../wire/reasons.js'
import { relayNumber } from '../wire/relay-id.js'
import { MeshDelivery } from './delivery.js'
import { RelaySet } from './relay-set.js'
import { checkSend, checkService, copyPayload, payloadLength } from './send-check.js'
import type { Mesh, MeshHandler, MeshPayload, MeshRelay, SendOptions } from './types.js'

/** How one direction between two relays treats packets. */
export interface MemoryLink {
  /** Chance that a packet is lost, 0-1. */
  loss: number
  /** One-way delay (ms). */
  delayMs: number
  /** Extra delay drawn uniformly from [0, jitterMs) per packet; packets may then reorder. */
  jitterMs: number
}

export interface MemoryNetworkInit extends Partial<MemoryLink> {
  /** PRNG seed for loss and jitter (default 1). */
  seed?: number
  /** What each relay's Mesh says as maxPayload (default the wire's ceiling). */
  maxPayload?: number
}

/** Packets the network carried, lost, and delivered, per directed pair "from>to". */
export interface MemoryCounts { sent: number, lost: number, delivered: number }

export class MemoryNetwork {
  private readonly clock: Clock
  private readonly prng: Prng
  private readonly defaults: MemoryLink
  private readonly links = new Map<string, MemoryLink>()
  private readonly nodes = new Map<number, MemoryMesh>()
  private readonly pairs = new Map<string, MemoryCounts>()
  readonly maxPayload: number
  /** Sees every packet the network takes, before loss: what a capture on the wire would show. */
  tap: ((from: MeshRelay, to: MeshRelay, service: number, flow: number, payload: Buffer) => void) | undefined

  constructor (components: { clock: Clock }, init: MemoryNetworkInit = {}) {
    this.clock = components.clock
    this.prng = new Prng(init.seed ?? 1)
    this.defaults = { loss: init.loss ?? 0, delayMs: init.delayMs ?? 0, jitterMs: init.jitterMs ?? 0 }
    this.maxPayload = init.maxPayload ?? MAX_PAYLOAD
  }

  /** Adds a relay and returns its Mesh; every relay's live set gains it. */
  add (id: string): MemoryMesh {
    const m = new MemoryMesh(this, { id, number: relayNumber(id) }, Math.floor(this.clock.nowMs() / 1000))
    if (this.nodes.has(m.self.number)) throw new TypeError(`relay '${id}' is already on the network`)
    this.nodes.set(m.self.number, m)
    this.publish()
    return m
  }

  /** Takes a relay off the network: packets to it drop as no_route, and live sets lose it. */
  remove (id: string): void {
    if (!this.nodes.delete(relayNumber(id))) return
    this.publish()
  }

  /** Sets how packets from `from` to `to` fare (one direction); unset fields keep the defaults. */
  setLink (from: string, to: string, link: Partial<MemoryLink>): void {
    this.links.set(`${from}>${to}`, { ...this.defaults, ...this.links.get(`${from}>${to}`), ...link })
  }

  /** What the network did with packets from `from` to `to`. */
  counts (from: string, to: string): MemoryCounts {
    return this.pairs.get(`${from}>${to}`) ?? { sent: 0, lost: 0, delivered: 0 }
  }

  /** Carries one packet: called by MemoryMesh.send once the payload is checked and copied. */
  carry (from: MemoryMesh, dst: number, service: number, flow: number, cls: number, payload: Buffer): Reason {
    const to = this.nodes.get(dst)
    if (to === undefined) return Reason.NO_ROUTE
    const key = `${from.self.id}>${to.self.id}`
    let c = this.pairs.get(key)
    if (c === undefined) { c = { sent: 0, lost: 0, delivered: 0 }; this.pairs.set(key, c) }
    c.sent++
    this.tap?.(from.self, to.self, service, flow, payload)
    const link = this.links.get(key) ?? this.defaults
    // Draw both numbers for every packet, so that one link's settings do not shift another's draws.
    const lost = this.prng.next() < link.loss
    const delay = link.delayMs + this.prng.next() * link.jitterMs
    if (lost) { c.lost++; return Reason.OK }
    const counts = c
    const src = from.self.number
    const epoch = from.epoch
    this.clock.setTimeout(() => {
      // A relay removed while the packet was on its way never gets it.
      if (this.nodes.get(dst) !== to) { counts.lost++; return }
      counts.delivered++
      to.deliver(src, epoch, service, flow, cls, payload)
    }, delay)
    return Reason.OK
  }

  private publish (): void {
    const ids = [...this.nodes.values()].map((n) => n.self.id)
    for (const n of this.nodes.values()) n.relays.replace(ids)
  }
}

/** One relay's Mesh on a MemoryNetwork. */
export class MemoryMesh implements Mesh {
  readonly self: MeshRelay
  readonly relays = new RelaySet()
  /** This relay's boot epoch, as receivers see it in MeshDelivery.epoch. */
  epoch: number
  /** Drops counted here, indexed by Reason: what a relay's relaymesh_packets_dropped_total would show. */
  readonly dropped = new Array<number>(REASON_COUNT).fill(0)
  /** Packets delivered per service. */
  readonly delivered = new Map<number, number>()
  private readonly network: MemoryNetwork
  private readonly handlers = new Map<number, MeshHandler>()
  private readonly delivery = new MeshDelivery()

  constructor (network: MemoryNetwork, self: MeshRelay, epoch: number) {
    this.network = network
    this.self = self
    this.epoch = epoch
  }

  get maxPayload (): number { return this.network.maxPayload }

  send (dst: number, service: number, flow: number, payload: MeshPayload, opts: SendOptions): Reason {
    checkSend(service, opts)
    const len = payloadLength(payload)
    if (len > this.network.maxPayload) return this.drop(Reason.TOO_BIG)
    // A copy, as a datagram on the wire is: the sender may reuse its buffers at once.
    const copy = Buffer.allocUnsafe(len)
    copyPayload(payload, copy, 0)
    const r = this.network.carry(this, dst, service, flow, opts.class, copy)
    return r === Reason.OK ? r : this.drop(r)
  }

  register (service: number, handler: MeshHandler): () => void {
    checkService(service)
    if (this.handlers.has(service)) throw new TypeError(`service ${service} is already registered`)
    this.handlers.set(service, handler)
    return () => { if (this.handlers.get(service) === handler) this.handlers.delete(service) }
  }

  countDrop (reason: Reason): void { this.dropped[reason]++ }

  /** Called by the network when a packet arrives. */
  deliver (src: number, epoch: number, service: number, flow: number, cls: number, payload: Buffer): void {
    const handler = this.handlers.get(service)
    if (handler === undefined) { this.dropped[Reason.UNKNOWN_SERVICE]++; return }
    this.delivered.set(service, (this.delivered.get(service) ?? 0) + 1)
    this.delivery.fill(src, epoch, flow, cls, payload, 0, payload.length)
    handler(this.delivery)
  }

  private drop (r: Reason): Reason {
    this.dropped[r]++
    return r
  }
}
