import { DataPlane } from '../../relay/data-plane.js'
import type { MeshSocket } from '../../relay/types.js'
import type { Route } from '../../relay/types.js'
import { MeshKeyBook, type KeyBook } from '../../src/wire/keys.js'
import { relayNumber } from '../../src/wire/relay-id.js'

/** A MeshSocket that queues what it sends on a PlaneNet, with a settable user-space queue. */
export class NetSocket implements MeshSocket {
  queued = 0
  /** Copies of every datagram sent, in order. */
  readonly sent: Array<{ buf: Buffer, port: number }> = []
  constructor (private readonly net: PlaneNet, private readonly fromPort: number) {}
  send (buf: Buffer, port: number): void {
    const copy = Buffer.from(buf)
    this.sent.push({ buf: copy, port })
    this.net.queue.push({ buf: Buffer.from(copy), to: port, from: this.fromPort })
  }

  getSendQueueCount (): number { return this.queued }
}

export interface NetRelay { id: string, number: number, port: number, plane: DataPlane, socket: NetSocket }

/**
 * Data planes joined in memory, each on a "port": a datagram one sends to a port is queued, and
 * pump() hands queued datagrams to their planes until none is left (or a drop filter eats them).
 * Pure logic under test: real sockets are the integration tests' business.
 */
export class PlaneNet {
  readonly queue: Array<{ buf: Buffer, to: number, from: number }> = []
  readonly relays = new Map<string, NetRelay>()
  private nextPort = 7001
  /** Returns false to lose a datagram in flight. */
  filter: (d: { buf: Buffer, to: number, from: number }) => boolean = () => true
  now = 0

  constructor (readonly meshKey: Buffer) {}

  add (id: string, keys?: KeyBook, boot?: number): NetRelay {
    const number = relayNumber(id)
    const old = this.relays.get(id)
    const port = old?.port ?? this.nextPort++
    const socket = new NetSocket(this, port)
    const plane = new DataPlane(keys ?? new MeshKeyBook(number, this.meshKey), socket, { self: number, boot: boot ?? (1 + Math.floor(Math.random() * 0xfffffffe)), nowMs: () => this.now, maxSendQueue: 8 })
    const r = { id, number, port, plane, socket }
    this.relays.set(id, r)
    return r
  }

  /** Routes over a chain of relay ids, both ways, and the neighbour sessions along it. */
  chain (...ids: string[]): void {
    const rs = ids.map((id) => this.relays.get(id) as NetRelay)
    for (let i = 0; i < rs.length; i++) {
      const routes: Route[] = []
      for (let j = 0; j < rs.length; j++) {
        if (j === i) continue
        const hop = rs[j > i ? i + 1 : i - 1]
        routes.push({ dst: rs[j].number, nextHop: { id: hop.id, number: hop.number, host: '127.0.0.1', port: hop.port } })
      }
      rs[i].plane.setRoutes(routes)
      const nbrs = [rs[i - 1], rs[i + 1]].filter((n) => n !== undefined)
      rs[i].plane.setNeighbours(nbrs.map((n) => ({ number: n.number, host: '127.0.0.1', port: n.port })))
    }
  }

  start (): void { for (const r of this.relays.values()) r.plane.start() }

  /** Delivers queued datagrams until none is left; returns how many were delivered. */
  pump (limit = 100_000): number {
    let n = 0
    while (this.queue.length > 0 && n < limit) {
      const d = this.queue.shift() as { buf: Buffer, to: number, from: number }
      if (!this.filter(d)) continue
      const r = [...this.relays.values()].find((x) => x.port === d.to)
      if (r === undefined) continue
      r.plane.receive(d.buf, '127.0.0.1', d.from)
      n++
    }
    return n
  }

  get (id: string): NetRelay { return this.relays.get(id) as NetRelay }
}
