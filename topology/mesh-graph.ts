import { DirectedGraph } from 'graphology'
import { LinkColumns } from './link-columns.js'
import { createCostPolicy, materialChange, type CostPolicy, type LinkMetrics } from './cost.js'
import { RouteEngine, type EngineEdge } from './route-engine.js'
import { tableOf, type RouteEntry } from './route-table.js'

export interface RelayAttrs {
  address: string
  up: boolean
}

export interface LinkAttrs extends LinkMetrics {
  /** Cost in force for routing (after hysteresis). */
  cost: number
}

/** The graph's key of link from→to; private to this file (and link-columns.ts, which gets keys from the graph). */
const linkKey = (from: string, to: string): string => `${from}>${to}`

export type { RouteEntry } from './route-table.js'

/**
 * The topology model: a graphology directed graph of relays and measured links, and the route
 * engine computed from it. Pure: no sockets, no timers. Relay ids are kept sorted inside the
 * engine so that index order is id order for tie-breaks.
 */
export class MeshGraph {
  /** graphology is this class's own business: callers use the methods below, never the graph or its edge keys. */
  private readonly g = new DirectedGraph<RelayAttrs, LinkAttrs>()
  readonly policy: CostPolicy
  private engine: RouteEngine | undefined
  private ids: string[] = []
  private index = new Map<string, number>()
  /** True when relays or links were added or removed since the engine was built. */
  private structureChanged = true
  /** The link figures by column (link-columns.ts), once asked for; dropped when relays or links come or go. */
  private columns: LinkColumns | undefined
  /**
   * Bumped by every change to relays, links or their figures: a view taken at one revision (such
   * as the HTTP API's topology body) is current while it holds.
   */
  revision = 0

  constructor (policyKind = 'latency-loss') {
    this.policy = createCostPolicy(policyKind)
  }

  get relayCount (): number { return this.g.order }

  /** Measured links held (each direction counts once). */
  get linkCount (): number { return this.g.size }

  hasRelay (id: string): boolean { return this.g.hasNode(id) }

  hasLink (from: string, to: string): boolean { return this.g.hasEdge(linkKey(from, to)) }

  /** A relay's address and whether its control channel is up, or undefined when unknown. */
  relay (id: string): Readonly<RelayAttrs> | undefined {
    return this.g.hasNode(id) ? this.g.getNodeAttributes(id) : undefined
  }

  /** The figures of link from→to (cost is the one in force), or undefined when unknown; read only. */
  link (from: string, to: string): Readonly<LinkAttrs> | undefined {
    const key = linkKey(from, to)
    return this.g.hasEdge(key) ? this.g.getEdgeAttributes(key) : undefined
  }

  /** Calls `fn` for every link, in no particular order; the figures are read only. */
  forEachLink (fn: (from: string, to: string, attrs: Readonly<LinkAttrs>) => void): void {
    this.g.forEachEdge((_key, attrs, from, to) => { fn(from, to, attrs) })
  }

  upsertRelay (id: string, address: string): void {
    this.revision++
    if (this.g.hasNode(id)) {
      this.g.mergeNodeAttributes(id, { address, up: true })
      return
    }
    this.g.addNode(id, { address, up: true })
    this.structureChanged = true
    this.columns = undefined
  }

  /** Marks whether a relay is connected to the controller; routing ignores it (links decide). */
  setRelayUp (id: string, up: boolean): void {
    if (!this.g.hasNode(id)) return
    this.g.setNodeAttribute(id, 'up', up)
    this.revision++
  }

  /** Forgets the measured link from→to, e.g. when the two stop being neighbours. */
  removeLink (from: string, to: string): boolean {
    const key = linkKey(from, to)
    if (!this.g.hasEdge(key)) return false
    this.g.dropEdge(key)
    this.structureChanged = true
    this.columns = undefined
    this.revision++
    return true
  }

  /** Drops every link whose ends are not neighbours in `sets`; true when any went. */
  retainLinks (sets: ReadonlyMap<string, ReadonlySet<string>>): boolean {
    let dropped = false
    for (const key of this.g.edges()) {
      const a = this.g.source(key); const b = this.g.target(key)
      if (sets.get(a)?.has(b) !== true) dropped = this.removeLink(a, b) || dropped
    }
    return dropped
  }

  /** Each relay's peers over links the graph holds, either way round. */
  adjacency (): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>(this.g.nodes().map((id) => [id, new Set<string>()]))
    this.g.forEachEdge((_e, _a, from, to) => { out.get(from)?.add(to); out.get(to)?.add(from) })
    return out
  }

  /** [peer, RTT] for each link out of `from` with a measured RTT. */
  measuredFrom (from: string): Array<[string, number]> {
    const out: Array<[string, number]> = []
    if (!this.g.hasNode(from)) return out
    this.g.forEachOutEdge(from, (_e, attrs, _s, to) => { if (Number.isFinite(attrs.rttMs)) out.push([to, attrs.rttMs]) })
    return out
  }

  /** src's next hop toward dst on the current routes, or undefined (unreachable, or the same). */
  nextHop (src: string, dst: string): string | undefined {
    const e = this.routes()
    const u = this.index.get(src); const d = this.index.get(dst)
    if (u === undefined || d === undefined || u === d) return undefined
    const x = e.next[d * this.ids.length + u]
    return x < 0 ? undefined : this.ids[x]
  }

  /** Forgets a relay and every link to or from it (the controller's relay expiry). */
  removeRelay (id: string): void {
    if (!this.g.hasNode(id)) return
    this.g.dropNode(id)
    this.structureChanged = true
    this.columns = undefined
    this.revision++
  }

  /**
   * Records a measurement of link from→to. Returns true when the routing cost in force changed
   * (a material change, see cost.ts), so routes may need recomputing.
   */
  updateLink (from: string, to: string, m: LinkMetrics): boolean {
    if (!this.g.hasNode(from) || !this.g.hasNode(to)) return false
    this.revision++
    const next = this.policy.cost(m)
    const key = linkKey(from, to)
    if (!this.g.hasEdge(key)) {
      this.g.addDirectedEdgeWithKey(key, from, to, { ...m, cost: next })
      this.structureChanged = true
      this.columns = undefined
      return true
    }
    const cur = this.g.getEdgeAttribute(key, 'cost')
    const changed = materialChange(cur, next)
    const attrs = { ...m, cost: changed ? next : cur }
    this.g.replaceEdgeAttributes(key, attrs)
    this.columns?.update(key, attrs)
    if (changed && !this.structureChanged && this.engine !== undefined) {
      const a = this.index.get(from) as number
      const b = this.index.get(to) as number
      this.engine.setCost(a, b, next)
    }
    return changed
  }

  /** Recomputes whatever is stale; cheap when nothing changed. */
  routes (): RouteEngine {
    if (this.structureChanged || this.engine === undefined) {
      this.ids = this.g.nodes().sort()
      this.index = new Map(this.ids.map((id, i) => [id, i]))
      const edges: EngineEdge[] = []
      this.g.forEachEdge((_key, attrs, source, target) => {
        edges.push({ from: this.index.get(source) as number, to: this.index.get(target) as number, cost: attrs.cost })
      })
      // A new relay or link starts a fresh engine; route hysteresis restarts with it.
      this.engine = new RouteEngine(this.ids.length, edges)
      this.engine.computeAll()
      this.structureChanged = false
    }
    return this.engine
  }

  /** The routing table of relay `id`: destination id → entry. Unreachable destinations are absent. */
  tableFor (id: string): Map<string, RouteEntry> {
    const e = this.routes()
    const u = this.index.get(id)
    return u === undefined ? new Map() : tableOf(e, this.ids, u)
  }

  /** Relay ids on the current path from src to dst, or [] when unreachable. */
  path (src: string, dst: string): string[] {
    const e = this.routes()
    const u = this.index.get(src); const d = this.index.get(dst)
    if (u === undefined || d === undefined) return []
    return e.path(u, d).map((i) => this.ids[i])
  }

  relayIds (): string[] { return this.g.nodes().sort() }

  /** Every link's figures by column, in (from, to) order of sorted ids (link-columns.ts); read only. */
  linkColumns (): LinkColumns {
    this.columns ??= new LinkColumns(this.g)
    return this.columns
  }

  /** The relay ids in the route engine's index order (sorted), current after routes(). */
  routeIds (): readonly string[] {
    this.routes()
    return this.ids
  }
}
