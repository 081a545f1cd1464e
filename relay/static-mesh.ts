import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { ConfigError, ErrorCode } from '../src/errors.js'
import { parseHostPort, type HostPort } from '../src/transport/address.js'
import { numberRelays } from '../src/wire/relay-id.js'
import type { NextHop, Route } from './types.js'

/**
 * The static mesh file (docs/static-mesh.md):
 *   {"relays":[{"id":"a","address":"127.0.0.1:7001"},…],"links":[["a","b"],["b","c"]]}
 * Links are bidirectional.
 */
const fileSchema = z.object({
  relays: z.array(z.object({ id: z.string(), address: z.string() }).passthrough()).min(1),
  links: z.array(z.tuple([z.string(), z.string()])).default([])
}).passthrough()

export interface StaticRelay extends HostPort {
  id: string
  number: number
}

export interface StaticMesh {
  relays: Map<string, StaticRelay>
  /** Adjacency: relay id → sorted neighbour ids. */
  neighbours: Map<string, string[]>
}

/** Validates a parsed static mesh document; throws ConfigError naming the entry at fault. */
export function validateStaticMesh (doc: unknown, source = 'static mesh'): StaticMesh {
  const parsed = fileSchema.safeParse(doc)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const at = issue.path.length > 0 ? issue.path.join('.') : '(top level)'
    throw new ConfigError(`${source}: ${at}: ${issue.message}; expected {"relays":[{"id":"a","address":"127.0.0.1:7001"}],"links":[["a","b"]]}`, ErrorCode.STATIC_MESH)
  }
  const relays = new Map<string, StaticRelay>()
  const byAddress = new Map<string, string>()
  for (const [i, r] of parsed.data.relays.entries()) {
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
    relays.set(r.id, { id: r.id, number: 0, ...addr })
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
  for (const [i, [a, b]] of parsed.data.links.entries()) {
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

/** Hop counts from every relay to `dst`, by breadth-first search over the links. */
function hopsTo (mesh: StaticMesh, dst: string): Map<string, number> {
  const dist = new Map<string, number>([[dst, 0]])
  const queue = [dst]
  for (let i = 0; i < queue.length; i++) {
    const u = queue[i]
    const d = dist.get(u) as number
    for (const v of mesh.neighbours.get(u) ?? []) {
      if (!dist.has(v)) { dist.set(v, d + 1); queue.push(v) }
    }
  }
  return dist
}

/**
 * The routes of relay `self`: for each reachable destination, the neighbour on a fewest-hop path,
 * ties broken by the smallest neighbour id. Every relay applies the same rule to the same file, and
 * each hop strictly lowers the distance, so the routes are loop-free. The backup is the best other
 * neighbour that is strictly closer to the destination than `self` (a loop-free alternate).
 */
export function staticRoutes (mesh: StaticMesh, self: string): Route[] {
  const me = mesh.relays.get(self)
  if (me === undefined) throw new ConfigError(`relay id '${self}' is not in the static mesh file; add it to "relays" or fix --id`, ErrorCode.STATIC_MESH)
  const routes: Route[] = []
  const nbrs = mesh.neighbours.get(self) ?? []
  for (const dst of [...mesh.relays.keys()].sort()) {
    if (dst === self) continue
    const dist = hopsTo(mesh, dst)
    const mine = dist.get(self)
    if (mine === undefined) continue
    const closer = nbrs.filter((n) => (dist.get(n) ?? Infinity) < mine)
      .sort((x, y) => (dist.get(x) as number) - (dist.get(y) as number) || (x < y ? -1 : 1))
    if (closer.length === 0) continue
    const hop = (id: string): NextHop => {
      const r = mesh.relays.get(id) as StaticRelay
      return { id, number: r.number, host: r.host, port: r.port }
    }
    const route: Route = { dst: (mesh.relays.get(dst) as StaticRelay).number, nextHop: hop(closer[0]) }
    if (closer.length > 1) route.backup = hop(closer[1])
    routes.push(route)
  }
  return routes
}
