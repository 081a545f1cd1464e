import Table from 'cli-table3'
import { fmtCost, fmtLoss, fmtMs, fmtPath } from './format.js'
import { pathLoss, pathRtt, type PathView } from './path-view.js'
import { compareIds, type TopologySnapshot } from './snapshot.js'

type Align = 'left' | 'right'

/**
 * A plain, compact table: no colours, so the output is the same on a terminal, in a pipe and in a
 * test, and no rule between rows, so a mesh's n² routes stay readable. Numbers are right-aligned
 * so that decimals line up.
 */
function table (head: string[], aligns: Align[], rows: string[][]): string {
  const t = new Table({ head, colAligns: aligns, style: { head: [], border: [], compact: true } })
  t.push(...rows)
  return t.toString()
}

export function relaysTable (s: TopologySnapshot): string {
  return table(['relay', 'address', 'state'], ['left', 'left', 'left'],
    s.relays.map((r) => [r.id, r.address, r.up ? 'up' : 'down']))
}

export function linksTable (s: TopologySnapshot): string {
  return table(['from', 'to', 'rtt ms', 'jitter ms', 'loss', 'cost', 'state'],
    ['left', 'left', 'right', 'right', 'right', 'right', 'left'],
    s.links.map((l) => [l.from, l.to, fmtMs(l.rtt_ms), fmtMs(l.jitter_ms), fmtLoss(l.loss), fmtCost(l.cost), l.up ? 'up' : 'down']))
}

/** One row per (src, dst), sorted; only `src`'s routes when given. */
export function routesTable (s: TopologySnapshot, src?: string): string {
  const rows: string[][] = []
  const srcs = src === undefined ? Object.keys(s.routes).sort(compareIds) : [src]
  for (const from of srcs) {
    const bySrc = Object.hasOwn(s.routes, from) ? s.routes[from] : {}
    for (const dst of Object.keys(bySrc).sort(compareIds)) {
      const r = bySrc[dst]
      rows.push([from, dst, r.next_hop, r.backup ?? '-', fmtCost(r.cost), fmtPath(r.path)])
    }
  }
  return table(['src', 'dst', 'next hop', 'backup', 'cost', 'path'],
    ['left', 'left', 'left', 'left', 'right', 'left'], rows)
}

/** The hops of a path with their link figures, then a total line. */
export function pathTable (p: PathView): string {
  if (p.path.length === 0) return `no route from ${p.src} to ${p.dst}`
  const rows = p.hops.map((h) => [h.from, h.to, fmtMs(h.rtt_ms), fmtLoss(h.loss), fmtCost(h.cost)])
  rows.push(['total', '', fmtMs(pathRtt(p)), fmtLoss(pathLoss(p)), fmtCost(p.cost)])
  const hops = table(['from', 'to', 'rtt ms', 'loss', 'cost'], ['left', 'left', 'right', 'right', 'right'], rows)
  return `${fmtPath(p.path)}\n${hops}`
}
