import { CONVERGENCE_QUIET_S, type FlowResult, type SimResult } from '../types.js'
import { NONE, duration, eventCaption, headline, ms, orderedEvents, pathChangeCount, pathText, pct, pooledLoss, seconds } from './format.js'

/** Up to this many relays the report adds the full next-hop matrix; beyond, it stops being readable. */
export const ROUTE_MATRIX_MAX_RELAYS = 12
/** Up to this many flows each gets its own headline sentence; beyond, one pooled sentence. */
const HEADLINE_FLOWS_MAX = 8

/** Relative links (from report.md) to a flow's three charts. */
export interface ChartLinks {
  latency: string
  loss: string
  paths: string
}

/** A table cell: a pipe or newline inside a label would otherwise break the row. */
function cell (s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
}

function table (head: string[], align: Array<'l' | 'r'>, rows: string[][]): string[] {
  return [
    `| ${head.map(cell).join(' | ')} |`,
    `|${align.map((a) => (a === 'r' ? '---:' : ':---')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)
  ]
}

function headlines (flows: FlowResult[]): string[] {
  if (flows.length === 0) return ['The scenario has no flows, so there is no traffic to report on.']
  if (flows.length <= HEADLINE_FLOWS_MAX) return flows.map(headline)
  const worst = [...flows].sort((a, b) => b.loss - a.loss)[0]
  return [`Across ${flows.length} flows the mesh lost ${pct(pooledLoss(flows, (f) => f.loss))} of packets ` +
    `where the direct paths lost ${pct(pooledLoss(flows, (f) => f.direct_loss))}; ` +
    `the worst flow, ${worst.id} (${worst.from} → ${worst.to}), lost ${pct(worst.loss)}.`]
}

function flowsSection (r: SimResult): string[] {
  const out = ['## Flows', '']
  if (r.flows.length === 0) return [...out, 'No flows.', '']
  out.push(...table(
    ['flow', 'from → to', 'sent', 'delivered', 'loss', 'direct loss', 'p50', 'direct p50', 'p99', 'direct p99', 'path changes'],
    ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    r.flows.map((f) => [f.id, `${f.from} → ${f.to}`, String(f.sent), String(f.delivered), pct(f.loss), pct(f.direct_loss),
      ms(f.p50_ms), ms(f.direct_p50_ms), ms(f.p99_ms), ms(f.direct_p99_ms), String(pathChangeCount(f))])
  ))
  out.push('', 'Loss counts every packet the flow sent. Latency is one-way, over delivered packets. ' +
    '"Direct" is the same flow sent over the from → to link alone, under the same impairments, without the mesh. ' +
    `${NONE} means no packet arrived to measure. Path changes do not count the path the flow started on.`, '')
  return out
}

function eventsSection (r: SimResult): string[] {
  const out = ['## Events', '']
  if (r.events.length === 0) return [...out, 'No events.', '']
  out.push(...table(['#', 't', 'event', 'target', 'convergence'], ['r', 'r', 'l', 'l', 'r'],
    orderedEvents(r).map((e, i) => [String(i + 1), seconds(e.t_s), eventCaption(e), e.target, duration(e.convergence_ms)])))
  out.push('', `Convergence runs from the event to the last route-table change it caused: the last change before ` +
    `${CONVERGENCE_QUIET_S} s without one, or before the next event. ${NONE} means the event changed no route.`, '')
  return out
}

/** Every relay named in the final routes, in id order. */
function routedRelays (r: SimResult): string[] {
  const ids = new Set<string>()
  for (const [src, dsts] of Object.entries(r.final_routes)) {
    ids.add(src)
    for (const dst of Object.keys(dsts)) ids.add(dst)
  }
  return [...ids].sort()
}

function routesSection (r: SimResult): string[] {
  const out = ['## Final routes', '']
  if (r.flows.length > 0) {
    for (const f of r.flows) {
      const route = r.final_routes[f.from]?.[f.to]
      out.push(`- ${f.id} (${f.from} → ${f.to}): ${route === undefined ? 'no route' : pathText(route.path)}`)
    }
    out.push('')
  }
  const ids = routedRelays(r)
  if (ids.length > 0 && ids.length <= ROUTE_MATRIX_MAX_RELAYS && r.relays <= ROUTE_MATRIX_MAX_RELAYS) {
    out.push('Next hop from each relay (row) toward each destination (column):', '')
    out.push(...table(['from \\ to', ...ids], ['l', ...ids.map((): 'l' => 'l')],
      ids.map((src) => [src, ...ids.map((dst) => (src === dst ? '·' : r.final_routes[src]?.[dst]?.next_hop ?? NONE))])))
    out.push('')
  }
  return out
}

function chartsSection (r: SimResult, charts: Map<string, ChartLinks>): string[] {
  const out: string[] = []
  for (const f of r.flows) {
    const c = charts.get(f.id)
    if (c === undefined) continue
    out.push(`### ${f.id}: ${f.from} → ${f.to}`, '',
      `![${f.id}: p50 one-way latency per second, mesh against direct](${c.latency})`, '',
      `![${f.id}: packet loss per second, mesh against direct](${c.loss})`, '',
      `![${f.id}: path in use over time](${c.paths})`, '')
  }
  return out.length === 0 ? [] : ['## Charts', '', 'Dashed vertical lines mark the events; where labels would crowd, a number stands for the event\'s row in the events table.', '', ...out]
}

/** The whole report.md; `charts` maps a flow id to its chart links (flows without charts get none). */
export function renderMarkdown (r: SimResult, charts: Map<string, ChartLinks> = new Map()): string {
  const facts = [
    `${r.relays} relays`,
    `${seconds(r.duration_s)} simulated`,
    `seed ${r.seed}`,
    `${r.table_versions} route table versions`,
    `wall time ${duration(r.wall_ms)}`
  ]
  return [
    `# Simulation: ${r.scenario} (${r.mode} mode)`,
    '',
    facts.join(' · '),
    '',
    ...headlines(r.flows).flatMap((h) => [`**${h}**`, '']),
    ...flowsSection(r),
    ...eventsSection(r),
    ...routesSection(r),
    ...chartsSection(r, charts)
  ].join('\n').replace(/\n+$/, '\n')
}
