import { routeFromWire, type TableRoute } from '../src/control/table-codec.js'
import type { TableEntry } from '../src/control/messages.js'
import type { Logger } from '../src/logging.js'
import { formatHostPort, parseHostPort } from '../src/transport/address.js'
import { relayNumber } from '../src/wire/relay-id.js'
import type { NextHop, Route } from './types.js'

/** A route by relay id, as the controller (or the static mesh) gives it. */
export type IdRoute = TableRoute

/**
 * The relay's forwarding state by relay id, and the data plane's routes derived from it.
 *
 * Local fast reroute: while the prober says the link to a route's next hop is down, the route uses
 * its backup (a loop-free alternate the controller computed), if that link is not down too. This
 * happens the moment the link goes down, without waiting for the controller; the controller's
 * next table then replaces both. A next hop whose link was never seen down counts as usable, so a
 * fresh table works before the first probes come back.
 */
export class ForwardingTable {
  private readonly log: Logger
  private readonly apply: (routes: Route[]) => void
  private neighbours = new Map<string, NextHop>()
  private table = new Map<string, IdRoute>()
  private readonly down = new Set<string>()
  /** Relay number → id, for every destination and neighbour (rebuilt with the routes). */
  private byNumber = new Map<number, string>()
  private _version = 0
  /** Destinations routed through their backup right now. */
  rerouted = 0
  /** Entries skipped because their next hop's address is unknown. */
  unresolved = 0

  /** Off only to measure what local fast reroute is worth (bench:failover's baseline). */
  private readonly fastReroute: boolean

  constructor (components: { logger: Logger }, apply: (routes: Route[]) => void, opts: { fastReroute?: boolean } = {}) {
    this.log = components.logger.child({ component: 'forwarding' })
    this.apply = apply
    this.fastReroute = opts.fastReroute ?? true
  }

  get version (): number { return this._version }
  get size (): number { return this.table.size }

  entries (): Map<string, IdRoute> { return new Map(this.table) }
  neighbourList (): Array<{ id: string, address: string }> {
    return [...this.neighbours.values()].map((n) => ({ id: n.id, address: formatHostPort(n) }))
  }

  /** The id of a destination or neighbour by its relay number (headers carry only numbers). */
  idOf (number: number): string | undefined { return this.byNumber.get(number) }

  /** The neighbours' numbers and addresses (the data plane keeps a session with each). */
  neighbourAddresses (): NextHop[] { return [...this.neighbours.values()] }

  setNeighbours (list: Array<{ id: string, address: string }>): NextHop[] {
    const next = new Map<string, NextHop>()
    for (const n of list) {
      const hp = parseHostPort(n.address, `neighbour ${n.id}`, false)
      next.set(n.id, { id: n.id, number: relayNumber(n.id), host: hp.host, port: hp.port })
    }
    this.neighbours = next
    this.rebuild()
    return [...next.values()]
  }

  /** Replaces the whole table (static mode, a saved state file). */
  replace (table: Map<string, IdRoute>, version: number): void {
    this.table = new Map(table)
    this._version = version
    this.rebuild()
  }

  /** Applies one round of a controller update. */
  update (upserts: Record<string, TableEntry>, removals: string[], version: number): void {
    for (const d of removals) this.table.delete(d)
    for (const [d, e] of Object.entries(upserts)) this.table.set(d, routeFromWire(e))
    this._version = Math.max(this._version, version)
    this.rebuild()
  }

  linkDown (peer: string): void {
    if (this.down.has(peer) || !this.fastReroute) return
    this.down.add(peer)
    this.rebuild()
    this.log.info({ peer, rerouted: this.rerouted }, 'link down: routes through it switched to their backups')
  }

  linkUp (peer: string): void {
    if (!this.down.delete(peer)) return
    this.rebuild()
  }

  private rebuild (): void {
    const routes: Route[] = []
    const byNumber = new Map<number, string>()
    for (const n of this.neighbours.values()) byNumber.set(n.number, n.id)
    let rerouted = 0
    let unresolved = 0
    for (const [dst, e] of this.table) {
      const dstNumber = relayNumber(dst)
      byNumber.set(dstNumber, dst)
      let hop = this.neighbours.get(e.nextHop)
      if (this.down.has(e.nextHop) && e.backup !== null && !this.down.has(e.backup)) {
        const b = this.neighbours.get(e.backup)
        if (b !== undefined) { hop = b; rerouted++ }
      }
      if (hop === undefined) { unresolved++; continue }
      const backup = e.backup === null ? undefined : this.neighbours.get(e.backup)
      routes.push(backup === undefined ? { dst: dstNumber, nextHop: hop } : { dst: dstNumber, nextHop: hop, backup })
    }
    this.byNumber = byNumber
    this.rerouted = rerouted
    if (unresolved > 0 && unresolved !== this.unresolved) this.log.warn({ unresolved }, 'routes whose next hop is not a known neighbour are skipped')
    this.unresolved = unresolved
    this.apply(routes)
  }
}
