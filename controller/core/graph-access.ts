import type { MeshGraph } from '../../topology/mesh-graph.js'

// MeshGraph does not (yet) answer these itself; they read its graphology graph in this one place
// so that hiding that field changes only this file.

/** Whether the graph holds a link from→to. */
export function hasLink (g: MeshGraph, from: string, to: string): boolean {
  return g.graph.hasEdge(`${from}>${to}`)
}

/** The routing cost in force of link from→to (the graph must hold it). */
export function linkCost (g: MeshGraph, from: string, to: string): number {
  return g.graph.getEdgeAttribute(`${from}>${to}`, 'cost')
}

/** How many links the graph holds. */
export function linkCount (g: MeshGraph): number {
  return g.graph.size
}
