import { ConfigError } from '../src/errors.js'
import type { LinkView, TopologySnapshot } from './snapshot.js'

/** One hop of a path, with the measured figures of the link it crosses. */
export interface HopView {
  from: string
  to: string
  rtt_ms: number | null
  loss: number | null
  cost: number | null
}

/** The current route from src to dst; `path` is [] and `cost` null when dst is unreachable. */
export interface PathView {
  src: string
  dst: string
  path: string[]
  cost: number | null
  hops: HopView[]
}

/** Throws a one-line ConfigError when `id` names no relay of the snapshot. */
export function requireRelay (s: TopologySnapshot, id: string): void {
  if (!s.relays.some((r) => r.id === id)) {
    throw new ConfigError(`relay '${id}' is not in the topology; \`relaymesh topology relays\` lists them`)
  }
}

/** The path src → dst in a snapshot taken with routes. */
export function pathOf (s: TopologySnapshot, src: string, dst: string): PathView {
  requireRelay(s, src)
  requireRelay(s, dst)
  if (src === dst) return { src, dst, path: [src], cost: 0, hops: [] }
  const route = Object.hasOwn(s.routes, src) && Object.hasOwn(s.routes[src], dst) ? s.routes[src][dst] : undefined
  if (route === undefined) return { src, dst, path: [], cost: null, hops: [] }
  const links = new Map<string, LinkView>(s.links.map((l) => [`${l.from}>${l.to}`, l]))
  const hops: HopView[] = []
  for (let i = 1; i < route.path.length; i++) {
    const from = route.path[i - 1]; const to = route.path[i]
    const l = links.get(`${from}>${to}`)
    // A path always follows known links; a missing one means the snapshot is torn, so show unknowns.
    hops.push({ from, to, rtt_ms: l?.rtt_ms ?? null, loss: l?.loss ?? null, cost: l?.cost ?? null })
  }
  return { src, dst, path: route.path, cost: route.cost, hops }
}

/** Sum of the hops' RTTs (the path's round trip, near enough), or null if any hop is unmeasured. */
export function pathRtt (p: PathView): number | null {
  let sum = 0
  for (const h of p.hops) {
    if (h.rtt_ms === null) return null
    sum += h.rtt_ms
  }
  return sum
}

/** End-to-end loss if hops lose packets independently: 1 − Π(1 − loss). Null if any is unmeasured. */
export function pathLoss (p: PathView): number | null {
  let delivered = 1
  for (const h of p.hops) {
    if (h.loss === null) return null
    delivered *= 1 - h.loss
  }
  return 1 - delivered
}
