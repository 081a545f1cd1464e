import { fmtCost, fmtLoss, fmtMs } from './format.js'
import type { LinkView, TopologySnapshot } from './snapshot.js'

/** A DOT double-quoted string. Relay ids are restricted, but addresses and labels pass through here too. */
function q (text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

/** Multi-line label: each line quoted-escaped, joined with DOT's centred line break. */
function label (...lines: string[]): string {
  return q(lines.join('\n')).replace(/\n/g, '\\n')
}

function linkLabel (l: LinkView): string {
  return label(l.rtt_ms === null ? 'rtt -' : `${fmtMs(l.rtt_ms)} ms`, `loss ${fmtLoss(l.loss)}`, `cost ${fmtCost(l.cost)}`)
}

/**
 * The map as a Graphviz digraph: relays as nodes, measured links as edges labelled with RTT, loss
 * and cost. Down relays are grey and dashed, down links red and dashed. Edges in `highlight`
 * (keys "from>to", e.g. a path or a shortest-path tree) are drawn bold, so the route stands out
 * from the links it did not take. Render with: `dot -Tsvg`.
 */
export function renderDot (s: TopologySnapshot, highlight: ReadonlySet<string> = new Set()): string {
  const out = [
    'digraph relaymesh {',
    `  graph [label=${q(`relaymesh topology, version ${s.version}`)}, labelloc=t, rankdir=LR, fontname="Helvetica"];`,
    '  node [shape=box, style=rounded, fontname="Helvetica"];',
    '  edge [fontname="Helvetica", fontsize=9];'
  ]
  for (const r of s.relays) {
    const style = r.up ? '' : ', color=grey, fontcolor=grey, style="rounded,dashed"'
    out.push(`  ${q(r.id)} [label=${label(r.id, r.address)}${style}];`)
  }
  for (const l of s.links) {
    const attrs = [`label=${linkLabel(l)}`]
    if (!l.up) attrs.push('color=red', 'fontcolor=red', 'style=dashed')
    if (highlight.has(`${l.from}>${l.to}`)) attrs.push('style=bold', 'penwidth=3')
    out.push(`  ${q(l.from)} -> ${q(l.to)} [${attrs.join(', ')}];`)
  }
  out.push('}')
  return out.join('\n')
}

/** The edges ("from>to") along a list of relay ids. */
export function pathEdges (path: readonly string[]): Set<string> {
  const edges = new Set<string>()
  for (let i = 1; i < path.length; i++) edges.add(`${path[i - 1]}>${path[i]}`)
  return edges
}
