import type { DirectedGraph } from 'graphology'
import type { LinkAttrs, RelayAttrs } from './mesh-graph.js'

/**
 * A MeshGraph's link figures by column, in (from, to) order of relay ids, kept current as reports
 * come in (MeshGraph.updateLink) so that GET /api/topology's copy (topology-input.ts) is a few
 * typed-array slices. Reading the same figures from the graph's edge objects took 10–15 ms of the
 * controller's event loop at 1,000 relays (17,000 links, scattered in the heap) per body built.
 * Built from the graph on first use; MeshGraph drops it whenever relays or links come or go.
 */
export class LinkColumns {
  /** Every relay id, sorted: the index the from/to columns refer to. */
  readonly ids: string[]
  readonly from: Int32Array
  readonly to: Int32Array
  readonly rttMs: Float64Array
  readonly jitterMs: Float64Array
  readonly loss: Float64Array
  readonly cost: Float64Array
  readonly up: Uint8Array
  /** Row of each link, by edge key. */
  private readonly row = new Map<string, number>()

  constructor (graph: DirectedGraph<RelayAttrs, LinkAttrs>) {
    this.ids = graph.nodes().sort()
    const index = new Map(this.ids.map((id, i) => [id, i]))
    const m = graph.size
    this.from = new Int32Array(m)
    this.to = new Int32Array(m)
    this.rttMs = new Float64Array(m)
    this.jitterMs = new Float64Array(m)
    this.loss = new Float64Array(m)
    this.cost = new Float64Array(m)
    this.up = new Uint8Array(m)
    // Relay by relay in id order, each one's out-links sorted by target: the (from, to) order of
    // snapshot.ts, since index order is id order.
    let k = 0
    const out: Array<{ to: number, key: string, a: LinkAttrs }> = []
    for (let i = 0; i < this.ids.length; i++) {
      out.length = 0
      graph.forEachOutEdge(this.ids[i], (key, a, _source, target) => { out.push({ to: index.get(target) as number, key, a }) })
      if (out.length > 1) out.sort((x, y) => x.to - y.to)
      for (const { to, key, a } of out) {
        this.from[k] = i
        this.to[k] = to
        this.row.set(key, k)
        this.set(k++, a)
      }
    }
  }

  /** Records the figures of link `key` (MeshGraph's from>to) once they changed; unknown keys are ignored. */
  update (key: string, a: LinkAttrs): void {
    const k = this.row.get(key)
    if (k !== undefined) this.set(k, a)
  }

  private set (k: number, a: LinkAttrs): void {
    this.rttMs[k] = a.rttMs
    this.jitterMs[k] = a.jitterMs
    this.loss[k] = a.loss
    this.cost[k] = a.cost
    this.up[k] = a.up ? 1 : 0
  }
}
