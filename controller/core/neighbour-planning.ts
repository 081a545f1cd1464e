import type { MeshGraph } from '../../topology/mesh-graph.js'
import { planNeighbours, selectNeighbours, type NeighbourPolicy } from '../../topology/neighbours.js'
import type { InstalledTables } from '../../topology/route-diff.js'
import type { CommandSink } from './commands.js'
import type { Registry } from './registry.js'

/**
 * Neighbour planning: who probes whom. The selection (topology/neighbours.ts) decides which links
 * the graph keeps; each relay is told the selection plus the links its installed next hops still
 * use, and only when that changed.
 */
export class NeighbourPlanner {
  private readonly policy: NeighbourPolicy
  /** The last neighbour selection, which the graph's links follow. */
  private sets = new Map<string, Set<string>>()
  /** Some relay was told to keep probing a link outside the selection. */
  linger = false
  private seed = 1

  constructor (policy: NeighbourPolicy) { this.policy = policy }

  /** Whether a report of link relay→peer is taken in: it belongs to the selection. */
  selected (relay: string, peer: string): boolean { return this.sets.get(relay)?.has(peer) === true }

  forget (id: string): void { this.sets.delete(id) }

  /**
   * Recomputes the selection (a fresh draw when `refresh`) and drops the graph's links between
   * relays that are no longer neighbours; true when any went, so routes must move off them before
   * the relays stop probing them.
   */
  select (graph: MeshGraph, installed: InstalledTables, refresh: boolean): boolean {
    if (refresh) this.seed++
    const index = installed.index
    this.sets = selectNeighbours(graph.relayIds(), (a) => graph.measuredFrom(a), this.policy, this.seed, {
      // After settling there is no selection yet: the links relays probe stand for it.
      previous: this.sets.size > 0 ? this.sets : graph.adjacency(),
      inUse: (a, b) => installed.usesHop(index.of(a), index.of(b)),
      // Only a refresh re-draws random links; a join or a departure keeps everyone else's.
      all: !refresh
    })
    return graph.retainLinks(this.sets)
  }

  /** Tells each live relay whose set changed what to probe. */
  send (out: CommandSink, registry: Registry, installed: InstalledTables, fence: number): void {
    const plan = planNeighbours(this.sets, nextHopsInUse(registry, installed))
    this.linger = plan.lingering
    for (const s of registry.live()) {
      const mine = [...(plan.probe.get(s.id) ?? [])].sort()
      const joined = mine.join(',')
      if (joined === s.neighboursSent) continue
      const neighbours = mine.map((id) => ({ id, address: registry.get(id)?.address ?? '' })).filter((n) => n.address !== '')
      out.push({ type: 'neighbours', relay: s.id, fence, neighbours })
      s.neighboursSent = joined
    }
  }
}

/** Every (relay, next hop) pair some installed table entry forwards over. */
function * nextHopsInUse (registry: Registry, installed: InstalledTables): Generator<[string, string]> {
  const ids = installed.index.ids
  for (const s of registry.all()) {
    for (const h of installed.hopsUsed(s.index)) yield [s.id, ids[h]]
  }
}
