import type { Csr } from './csr.js'
import { IndexedHeap } from './heap.js'

const NONE = -1

/**
 * Dijkstra toward one destination d over the reversed graph, reusing its scratch rows and heap
 * across runs. For every node u it leaves:
 *   - dist[u]: cost of u's best path to d;
 *   - parent[u]: the neighbour v minimising (c(u,v) + dist(v), v) — best cost, ties to the smaller
 *     index — i.e. u's next hop on a fresh shortest-path tree;
 *   - runnerUp[u]: the second-best neighbour by the same order, u's first backup candidate.
 *
 * Every edge u→v is relaxed exactly once, when v is settled and dist[v] is final, so the relaxations
 * are precisely the candidates (c(u,v) + dist(v), v) a backup scan would compute; keeping the best
 * two costs one extra compare per relaxation and spares the engine a second pass over all edges per
 * destination. That second pass was half of a full-table computation on dense graphs.
 *
 * Costs must be positive: a zero-cost cycle could make two nodes each other's parent.
 */
export class ReverseDijkstra {
  readonly dist: Float64Array
  readonly parent: Int32Array
  readonly runnerUp: Int32Array
  /** c(u, runnerUp[u]) + dist(runnerUp[u]). */
  private readonly runnerUpCost: Float64Array
  private readonly heap: IndexedHeap

  constructor (n: number) {
    this.dist = new Float64Array(n)
    this.parent = new Int32Array(n)
    this.runnerUp = new Int32Array(n)
    this.runnerUpCost = new Float64Array(n)
    this.heap = new IndexedHeap(n)
  }

  run (g: Csr, d: number): void {
    const { dist, parent, runnerUp, runnerUpCost: second, heap } = this
    const { inStart, inFrom, inCost } = g
    dist.fill(Infinity)
    parent.fill(NONE)
    runnerUp.fill(NONE)
    second.fill(Infinity)
    heap.clear()
    dist[d] = 0
    heap.push(d, 0)
    while (heap.size > 0) {
      const x = heap.pop()
      const dx = dist[x]
      const end = inStart[x + 1]
      for (let i = inStart[x]; i < end; i++) {
        const w = inFrom[i]
        const via = dx + inCost[i]
        const dw = dist[w]
        if (via < dw) {
          // The displaced best beat every other candidate so far, so it is the new runner-up.
          second[w] = dw; runnerUp[w] = parent[w]
          dist[w] = via; parent[w] = x
          heap.push(w, via)
        } else if (via === dw && x < parent[w]) {
          second[w] = dw; runnerUp[w] = parent[w]
          parent[w] = x
        } else if (via < second[w] || (via === second[w] && x < runnerUp[w])) {
          second[w] = via; runnerUp[w] = x
        }
      }
    }
  }
}
