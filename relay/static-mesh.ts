import { readFile } from 'node:fs/promises'
import { ConfigError, ErrorCode } from '../src/errors.js'
import { parseHostPort, type HostPort } from '../src/transport/address.js'
import { numberRelays } from '../src/wire/relay-id.js'
import { hopRoutes } from '../topology/route-table.js'
import type { NextHop, Route } from './types.js'

/**
 * The static mesh file (docs/static-mesh.md):
 *   {"relays":[{"id":"a","address":"127.0.0.1:7001","key":"rmpub1:…"},…],"links":[["a","b"],["b","c"]]}
 * Links are bidirectional. `key` (each relay's public key line, relaymesh keygen --identity; or a
 * list of them while a key rolls over) is for relays on --identity; it is given for every relay or
 * for none.
 */
interface MeshFile {
  relays: Array<{ id: string, address: string, key?: string | string[] }>
  links: Array<[string, string]>
}

/**
 * The file's shape, checked by hand rather than with zod: a static relay otherwise loads zod for
 * this one check and carries its heap for its whole life (docs/performance.md). Returns the first
 * problem as [path, message].
 */
function checkShape (doc: unknown): MeshFile | [string, string] {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
  if (!isObject(doc)) return ['(top level)', 'expected an object']
  const relays = doc.relays
  if (!Array.isArray(relays)) return ['relays', 'expected an array']
  if (relays.length === 0) return ['relays', 'expected at least one relay']
  for (const [i, r] of relays.entries()) {
    if (!isObject(r)) return [`relays.${i}`, 'expected an object']
    for (const k of ['id', 'address']) if (typeof r[k] !== 'string') return [`relays.${i}.${k}`, 'expected a string']
    if (r.key !== undefined && typeof r.key !== 'string' && !(Array.isArray(r.key) && r.key.length > 0 && r.key.every((k) => typeof k === 'string'))) return [`relays.${i}.key`, 'expected a public key line (rmpub1:…) or a list of them']
    if ((r.key === undefined) !== ((relays[0] as Record<string, unknown>).key === undefined)) return [`relays.${i}.key`, 'give a key for every relay or for none']
  }
  const links = doc.links ?? []
  if (!Array.isArray(links)) return ['links', 'expected an array']
  for (const [i, l] of links.entries()) {
    if (!Array.isArray(l) || l.length !== 2) return [`links.${i}`, 'expected a pair of relay ids']
    for (const j of [0, 1]) if (typeof l[j] !== 'string') return [`links.${i}.${j}`, 'expected a string']
  }
  return { relays: relays as MeshFile['relays'], links: links as MeshFile['links'] }
}

export interface StaticRelay extends HostPort {
  id: string
  number: number
  /** The relay's public key lines (rmpub1:…), when the file gives keys. */
  keys?: string[]
}

export interface StaticMesh {
  relays: Map<string, StaticRelay>
  /** Adjacency: relay id → sorted neighbour ids. */
  neighbours: Map<string, string[]>
}

/** Validates a parsed static mesh document; throws ConfigError naming the entry at fault. */
export function validateStaticMesh (doc: unknown, source = 'static mesh'): StaticMesh {
  const parsed = checkShape(doc)
  if (Array.isArray(parsed)) {
    throw new ConfigError(`${source}: ${parsed[0]}: ${parsed[1]}; expected {"relays":[{"id":"a","address":"127.0.0.1:7001"}],"links":[["a","b"]]}`, ErrorCode.STATIC_MESH)
  }
  const relays = new Map<string, StaticRelay>()
  const byAddress = new Map<string, string>()
  for (const [i, r] of parsed.relays.entries()) {
    if (relays.has(r.id)) throw new ConfigError(`${source}: relays[${i}]: id '${r.id}' appears twice; give each relay its own id`, ErrorCode.STATIC_MESH)
    let addr: HostPort
    try {
      addr = parseHostPort(r.address, `${source}: relays[${i}] ('${r.id}') address`)
    } catch (err) {
      throw new ConfigError((err as Error).message, ErrorCode.STATIC_MESH)
    }
    const key = `${addr.host}|${addr.port}`
    const other = byAddress.get(key)
    if (other !== undefined) throw new ConfigError(`${source}: relays[${i}]: '${r.id}' and '${other}' share address ${r.address}; each relay needs its own address`, ErrorCode.STATIC_MESH)
    byAddress.set(key, r.id)
    relays.set(r.id, r.key === undefined ? { id: r.id, number: 0, ...addr } : { id: r.id, number: 0, ...addr, keys: typeof r.key === 'string' ? [r.key] : r.key })
  }
  let numbers: Map<string, number>
  try {
    numbers = numberRelays(relays.keys())
  } catch (err) {
    throw new ConfigError(`${source}: ${(err as Error).message}`, ErrorCode.STATIC_MESH)
  }
  for (const r of relays.values()) r.number = numbers.get(r.id) as number
  const adj = new Map<string, Set<string>>()
  for (const id of relays.keys()) adj.set(id, new Set())
  for (const [i, [a, b]] of parsed.links.entries()) {
    for (const end of [a, b]) {
      if (!relays.has(end)) throw new ConfigError(`${source}: links[${i}] names unknown relay '${end}'; add it to "relays" or fix the link`, ErrorCode.STATIC_MESH)
    }
    if (a === b) throw new ConfigError(`${source}: links[${i}] joins '${a}' to itself; remove it`, ErrorCode.STATIC_MESH)
    adj.get(a)?.add(b)
    adj.get(b)?.add(a)
  }
  const neighbours = new Map<string, string[]>()
  for (const [id, set] of adj) neighbours.set(id, [...set].sort())
  return { relays, neighbours }
}

export async function loadStaticMesh (path: string): Promise<StaticMesh> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`cannot read static mesh file '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, ErrorCode.STATIC_MESH)
  }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(`static mesh file '${path}' is not valid JSON: ${(err as Error).message}`, ErrorCode.STATIC_MESH)
  }
  return validateStaticMesh(doc, `static mesh file '${path}'`)
}

/**
 * The routes of relay `self`: for each reachable destination, the neighbour on a fewest-hop path,
 * ties broken by the smallest neighbour id, and a loop-free alternate as backup. They come from
 * topology/route-table.ts (hopRoutes), the route engine the controller uses, so every relay applying
 * it to the same file gets loop-free routes.
 */
export function staticRoutes (mesh: StaticMesh, self: string): Route[] {
  const links: Array<[string, string]> = []
  for (const [id, nbrs] of mesh.neighbours) for (const n of nbrs) links.push([id, n])
  const table = hopRoutes(mesh.relays.keys(), links, self)
  if (table === undefined) throw new ConfigError(`relay id '${self}' is not in the static mesh file; add it to "relays" or fix --id`, ErrorCode.STATIC_MESH)
  const hop = (id: string): NextHop => {
    const r = mesh.relays.get(id) as StaticRelay
    return { id, number: r.number, host: r.host, port: r.port }
  }
  const routes: Route[] = []
  for (const [dst, e] of table) {
    const route: Route = { dst: (mesh.relays.get(dst) as StaticRelay).number, nextHop: hop(e.nextHop) }
    if (e.backup !== null) route.backup = hop(e.backup)
    routes.push(route)
  }
  return routes
}
