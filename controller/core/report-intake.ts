import { performance } from 'node:perf_hooks'
import type { ControlLinkReport } from '../../src/control/messages.js'
import { materialChange } from '../../topology/cost.js'
import { LossMemory, reportedMetrics } from '../../topology/loss-memory.js'
import type { MeshGraph } from '../../topology/mesh-graph.js'

/**
 * Route scheduling's batched rebuilds: how the controller core takes link reports into its
 * MeshGraph, one at a time as they arrive (`take`), or held and taken in together just before a
 * computation (`hold`, then `flush`) when computations are spaced out (CoreOptions.computeSpacingMs).
 *
 * MeshGraph updates routes link by link as costs change but rebuilds them whole once any link is
 * added. At 1,000 relays a link-by-link update averaged 67 ms (a link that comes up shortens paths
 * to ~200 destinations, a Dijkstra each) and a rebuild 180 ms, while a neighbour refresh's new
 * links coming up make thousands of changes. So `flush` arranges for one rebuild per batch:
 *  - a relay whose reports bring a new link goes first: every later change rides on the rebuild
 *    that link causes;
 *  - a batch with no new link but `rebuildMinChanges` cost changes or more gets the same rebuild:
 *    one changing link is removed before its report re-adds it, with the cost its change would
 *    have given it anyway (a changed cost takes effect whole, topology/cost.ts).
 * The graph ends exactly as taking the reports one by one would leave it: a relay's reports keep
 * their order, and reports of different relays touch different links. What differs is that route
 * hysteresis restarts, as MeshGraph makes it do whenever a link is added.
 *
 * Only reports that would change something wait (`classify`): one that brings fresh figures and
 * moves no cost is taken in at once, so a mesh at rest computes no routes, and its figures stay
 * fresh between computations.
 */
export class ReportIntake {
  /** Wall time spent taking reports in (ms), and reported figures that moved a cost in force. */
  readonly stats = { wallMs: 0, costChanges: 0 }
  private readonly graph: MeshGraph
  private readonly clock: { monoMs: () => number }
  private readonly memory = new LossMemory()
  /** Whether the relay is known (in the graph) and the link belongs to the neighbour selection. */
  private readonly accepts: (relay: string, peer: string) => boolean
  private readonly rebuildMinChanges: number
  private readonly held = new Map<string, ControlLinkReport[]>()

  constructor (graph: MeshGraph, clock: { monoMs: () => number }, opts: { accepts: (relay: string, peer: string) => boolean, rebuildMinChanges: number }) {
    this.graph = graph
    this.clock = clock
    this.accepts = opts.accepts
    this.rebuildMinChanges = opts.rebuildMinChanges
  }

  /** Whether reports are held for the next flush. */
  get holding (): boolean { return this.held.size > 0 }

  /** Takes one report in now; true when some link's cost in force moved. */
  take (r: ControlLinkReport): boolean {
    const t0 = performance.now()
    let changed = false
    for (const l of r.links) {
      if (!this.accepts(r.relay, l.peer)) continue
      if (this.graph.updateLink(r.relay, l.peer, this.memory.metrics(r.relay, l, this.clock.monoMs()))) {
        changed = true
        this.stats.costChanges++
      }
    }
    this.stats.wallMs += performance.now() - t0
    return changed
  }

  /**
   * What a report would do if taken in now: 'down' when a link the graph has up is reported down,
   * 'change' when it brings a link the graph lacks or moves a cost in force, else 'none' (the
   * graph only takes in its fresh figures).
   */
  classify (r: ControlLinkReport): 'none' | 'change' | 'down' {
    let verdict: 'none' | 'change' = 'none'
    const now = this.clock.monoMs()
    for (const l of r.links) {
      if (!this.accepts(r.relay, l.peer)) continue
      const link = this.graph.link(r.relay, l.peer)
      if (link === undefined) { verdict = 'change'; continue }
      if (link.up && !l.up) return 'down'
      if (verdict === 'none' && materialChange(link.cost, this.graph.policy.cost(this.memory.peek(r.relay, l, now)))) verdict = 'change'
    }
    return verdict
  }

  /** Whether reports of `relay` wait for the next flush (a later one must not overtake them). */
  holds (relay: string): boolean { return this.held.has(relay) }

  hold (r: ControlLinkReport): void {
    const list = this.held.get(r.relay)
    if (list === undefined) this.held.set(r.relay, [r])
    else list.push(r)
  }

  /** Takes in every held report (see the class comment). */
  flush (): void {
    if (this.held.size === 0) return
    const first: ControlLinkReport[][] = []
    const rest: ControlLinkReport[][] = []
    let changes = 0
    let victim: [string, string] | undefined
    for (const list of this.held.values()) {
      let grows = false
      for (const r of list) {
        for (const l of r.links) {
          if (!this.accepts(r.relay, l.peer)) continue
          const link = this.graph.link(r.relay, l.peer)
          if (link === undefined) { grows = true; continue }
          if (materialChange(link.cost, this.graph.policy.cost(reportedMetrics(l)))) {
            changes++
            victim ??= [r.relay, l.peer]
          }
        }
      }
      ;(grows ? first : rest).push(list)
    }
    this.held.clear()
    if (first.length === 0 && victim !== undefined && changes >= this.rebuildMinChanges) this.graph.removeLink(victim[0], victim[1])
    for (const list of [...first, ...rest]) for (const r of list) this.take(r)
  }
}
