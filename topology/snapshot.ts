import { z } from 'zod'
import { routeToWire } from '../src/control/table-codec.js'
import type { MeshGraph, RelayAttrs } from './mesh-graph.js'

/**
 * The controller's view of the mesh at one table version, in the shape GET /api/topology serves
 * (docs/http-api.md). Field names are snake_case because they are a JSON contract; JSON has no
 * Infinity or NaN, so figures that are unknown or unusable are null.
 */
export interface TopologySnapshot {
  version: number
  /** Sorted by id. */
  relays: RelayView[]
  /** Sorted by (from, to). */
  links: LinkView[]
  /** src → dst → route, for every reachable pair; {} when routes were not asked for. */
  routes: Record<string, Record<string, RouteView>>
}

export interface RelayView {
  id: string
  address: string
  /** Whether the relay's control channel is connected; routing follows links, not this. */
  up: boolean
}

export interface LinkView {
  from: string
  to: string
  /** Smoothed RTT in ms; null until measured. */
  rtt_ms: number | null
  jitter_ms: number | null
  /** Loss fraction from 0 to 1; null until measured. */
  loss: number | null
  /** Routing cost in force (after hysteresis); null when the link is unusable (Infinity). */
  cost: number | null
  up: boolean
}

export interface RouteView {
  next_hop: string
  /** Loop-free alternate next hop, or null when there is none. */
  backup: string | null
  /** Relay ids from src to dst, both included. */
  path: string[]
  cost: number
}

export interface SnapshotOptions {
  /** Include the all-pairs routes (n² entries); default true. */
  routes?: boolean
}

/**
 * Figures are rounded to 1 µs and to 1e-6 of loss: finer digits are estimator noise, and they
 * would only bloat a document that holds n² routes.
 */
const msOrNull = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null)
const lossOrNull = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 1e6) / 1e6 : null)

/** Takes a snapshot of `graph`. Pure; O(n² · path length) with routes, O(n + links) without. */
export function snapshotOf (graph: MeshGraph, version: number, opts: SnapshotOptions = {}): TopologySnapshot {
  const ids = graph.relayIds()
  const relays = ids.map((id): RelayView => {
    const a = graph.relay(id) as RelayAttrs
    return { id, address: a.address, up: a.up }
  })
  const links: LinkView[] = []
  graph.forEachLink((from, to, a) => {
    links.push({
      from,
      to,
      rtt_ms: msOrNull(a.rttMs),
      jitter_ms: msOrNull(a.jitterMs),
      loss: lossOrNull(a.loss),
      cost: msOrNull(a.cost),
      up: a.up
    })
  })
  links.sort((x, y) => compareIds(x.from, y.from) || compareIds(x.to, y.to))
  return { version, relays, links, routes: opts.routes === false ? {} : routesOf(graph, ids) }
}

function routesOf (graph: MeshGraph, ids: string[]): TopologySnapshot['routes'] {
  const routes: TopologySnapshot['routes'] = {}
  for (const src of ids) {
    const table = graph.tableFor(src)
    const bySrc: Record<string, RouteView> = {}
    for (const [dst, e] of table) {
      const cost = msOrNull(e.cost)
      if (cost === null) continue // a next hop with no finite cost is no route
      bySrc[dst] = { ...routeToWire(e), path: graph.path(src, dst), cost }
    }
    routes[src] = bySrc
  }
  return routes
}

/** The order relay ids sort in everywhere (MeshGraph's too): plain UTF-16 code unit order. */
export function compareIds (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

const idSchema = z.string().min(1)
const figure = z.number().nullable()
const snapshotSchema = z.object({
  version: z.number(),
  relays: z.array(z.object({ id: idSchema, address: z.string(), up: z.boolean() })),
  links: z.array(z.object({ from: idSchema, to: idSchema, rtt_ms: figure, jitter_ms: figure, loss: figure, cost: figure, up: z.boolean() })),
  routes: z.record(idSchema, z.record(idSchema, z.object({
    next_hop: idSchema, backup: idSchema.nullable(), path: z.array(idSchema), cost: z.number()
  })))
})

/**
 * Checks that a parsed JSON document is a TopologySnapshot, for clients of GET /api/topology.
 * Throws a TypeError naming the first field at fault.
 */
export function parseSnapshot (doc: unknown): TopologySnapshot {
  const r = snapshotSchema.safeParse(doc)
  if (r.success) return r.data
  const issue = r.error.issues[0]
  throw new TypeError(`${issue.path.length === 0 ? 'document' : issue.path.join('.')}: ${issue.message}`)
}
