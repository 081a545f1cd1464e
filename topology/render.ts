import { pathOf, requireRelay } from './path-view.js'
import { pathEdges, renderDot } from './render-dot.js'
import { linksTable, pathTable, relaysTable, routesTable } from './render-table.js'
import type { TopologySnapshot } from './snapshot.js'

/** What `relaymesh topology` shows. `routes` may be narrowed to one source relay. */
export type TopologyQuery =
  | { view: 'relays' }
  | { view: 'links' }
  | { view: 'routes', src?: string }
  | { view: 'path', src: string, dst: string }

export type RenderFormat = 'table' | 'json' | 'dot'

/** True when the view needs the all-pairs routes, which are by far the largest part of a snapshot. */
export function needsRoutes (q: TopologyQuery): boolean {
  return q.view === 'routes' || q.view === 'path'
}

/**
 * Renders one view of a snapshot as text: a table, a JSON document (only the slice the view is
 * about), or a Graphviz DOT map. Throws a one-line ConfigError for a relay id not in the snapshot.
 */
export function render (s: TopologySnapshot, q: TopologyQuery, format: RenderFormat): string {
  if (q.view === 'path') {
    const p = pathOf(s, q.src, q.dst)
    if (format === 'json') return JSON.stringify(p, null, 2)
    if (format === 'dot') return renderDot(s, pathEdges(p.path))
    return pathTable(p)
  }
  if (q.view === 'routes' && q.src !== undefined) requireRelay(s, q.src)
  if (format === 'dot') return renderDot(s, q.view === 'routes' && q.src !== undefined ? treeEdges(s, q.src) : undefined)
  if (format === 'json') return JSON.stringify(jsonSlice(s, q), null, 2)
  switch (q.view) {
    case 'relays': return relaysTable(s)
    case 'links': return linksTable(s)
    case 'routes': return routesTable(s, q.src)
  }
}

function jsonSlice (s: TopologySnapshot, q: Exclude<TopologyQuery, { view: 'path' }>): unknown {
  switch (q.view) {
    case 'relays': return s.relays
    case 'links': return s.links
    case 'routes': return q.src === undefined ? s.routes : { [q.src]: Object.hasOwn(s.routes, q.src) ? s.routes[q.src] : {} }
  }
}

/** The union of src's paths: its shortest-path tree, as edges "from>to". */
function treeEdges (s: TopologySnapshot, src: string): Set<string> {
  const edges = new Set<string>()
  const bySrc = Object.hasOwn(s.routes, src) ? s.routes[src] : {}
  for (const route of Object.values(bySrc)) {
    for (const e of pathEdges(route.path)) edges.add(e)
  }
  return edges
}
