import type { MeshGraph, RelayAttrs } from './mesh-graph.js'

/**
 * Everything GET /api/topology's body is made of, copied out of a MeshGraph at one instant into
 * plain arrays: what topology-json.ts serializes, on the route helper thread for large meshes
 * (route-threads.ts). Copies, never views of the live engine, since the graph keeps changing
 * while a body is built. Relays are indexed in id order, the route engine's order.
 */
export interface TopologyInput {
  version: number
  ids: string[]
  addresses: string[]
  /** 1 when the relay's control channel is connected. */
  relayUp: Uint8Array
  /** Links sorted by (from, to), as relay indices, with their figures. */
  links: {
    from: Int32Array
    to: Int32Array
    rttMs: Float64Array
    jitterMs: Float64Array
    loss: Float64Array
    cost: Float64Array
    up: Uint8Array
  }
  /** The engine's tables, each indexed [d * n + u]; absent when routes were not asked for. */
  routes?: { next: Int32Array, backup: Int32Array, dist: Float64Array }
}

/**
 * Copies `graph` out for a body at `version`. O(n + links) (the links as typed-array slices), plus
 * an O(n²) copy of the route tables with routes (16 MB at 1,000 relays: a few milliseconds).
 */
export function topologyInput (graph: MeshGraph, version: number, opts: { routes: boolean }): TopologyInput {
  let routes: TopologyInput['routes']
  let ids: string[]
  if (opts.routes) {
    const e = graph.routes()
    ids = [...graph.routeIds()]
    routes = { next: e.next.slice(), backup: e.backup.slice(), dist: e.dist.slice() }
  } else {
    ids = graph.relayIds()
  }
  const n = ids.length
  const addresses = new Array<string>(n)
  const relayUp = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    const a = graph.relay(ids[i]) as RelayAttrs
    addresses[i] = a.address
    relayUp[i] = a.up ? 1 : 0
  }
  // The link figures are kept by column as reports come in (link-columns.ts): copying them is a
  // few slices. Their ids are every relay sorted, as `ids` are.
  const c = graph.linkColumns()
  if (c.ids.length !== n) throw new Error(`topology copy: ${n} relays in the route engine but ${c.ids.length} in the graph`)
  const links: TopologyInput['links'] = {
    from: c.from.slice(),
    to: c.to.slice(),
    rttMs: c.rttMs.slice(),
    jitterMs: c.jitterMs.slice(),
    loss: c.loss.slice(),
    cost: c.cost.slice(),
    up: c.up.slice()
  }
  return { version, ids, addresses, relayUp, links, routes }
}

/** The buffers a TopologyInput can hand over to another thread without a copy. */
export function transferables (t: TopologyInput): ArrayBuffer[] {
  const l = t.links
  const views = [t.relayUp, l.from, l.to, l.rttMs, l.jitterMs, l.loss, l.cost, l.up]
  if (t.routes !== undefined) views.push(t.routes.next, t.routes.backup, t.routes.dist)
  return views.map((v) => v.buffer).filter((b): b is ArrayBuffer => b instanceof ArrayBuffer)
}
