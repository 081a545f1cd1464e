import type { FlowResult, SimResult } from '../types.js'
import { eventCaption, orderedEvents, pathText } from './format.js'
import { bandChart, lineChart, type BandRow, type Marker } from './svg.js'

const MESH = '#1f77b4'
const DIRECT = '#e6550d'
const UNREACHABLE = '#d62728'
const PATH_COLOURS = ['#1f77b4', '#2ca02c', '#9467bd', '#8c564b', '#17becf', '#bcbd22', '#e377c2', '#7f7f7f']
/** Rows in the path chart; past this, the least-used paths share one row. */
const MAX_PATH_ROWS = 10
/** A path longer than this is shown by its ends, which is where meshes differ from each other. */
const MAX_PATH_HOPS_SHOWN = 5

export interface FlowCharts {
  latency: string
  loss: string
  paths: string
}

export function eventMarkers (r: SimResult): Marker[] {
  return orderedEvents(r).map((e, i) => ({ x: e.t_s, label: eventCaption(e), short: String(i + 1) }))
}

function shortPath (path: string[]): string {
  if (path.length <= MAX_PATH_HOPS_SHOWN) return pathText(path)
  return pathText([path[0], path[1], '…', path[path.length - 2], path[path.length - 1]])
}

export function latencyChart (f: FlowResult, r: SimResult): string {
  return lineChart({
    title: `${f.id}: p50 one-way latency per second (${f.from} → ${f.to})`,
    xMax: r.duration_s,
    yFormat: (v) => `${v} ms`,
    yMinSpan: 10,
    series: [
      { name: 'mesh', color: MESH, points: f.series.map((s) => [s.t_s, s.p50_ms]) },
      { name: 'direct', color: DIRECT, dashed: true, points: f.series.map((s) => [s.t_s, s.direct_p50_ms]) }
    ],
    markers: eventMarkers(r)
  })
}

export function lossChart (f: FlowResult, r: SimResult): string {
  // A second in which the flow sent nothing has no loss figure at all; plotting it as 0% would
  // draw a perfect second that never happened.
  const pts = (pick: (s: FlowResult['series'][number]) => number): Array<[number, number | null]> =>
    f.series.map((s) => [s.t_s, s.sent > 0 ? pick(s) * 100 : null])
  return lineChart({
    title: `${f.id}: packet loss per second (${f.from} → ${f.to})`,
    xMax: r.duration_s,
    yFormat: (v) => `${v}%`,
    yMinSpan: 1,
    yCap: 100,
    series: [
      { name: 'mesh', color: MESH, points: pts((s) => s.loss) },
      { name: 'direct', color: DIRECT, dashed: true, points: pts((s) => s.direct_loss) }
    ],
    markers: eventMarkers(r)
  })
}

export function pathChart (f: FlowResult, r: SimResult): string {
  // The route exists whether or not the flow is sending, so the last path holds to the end of the
  // run; the loss chart's gaps show when there was no traffic.
  const changes = [...f.path_changes].sort((a, b) => a.t_s - b.t_s)
  const spans = changes.map((c, i) => ({ key: pathText(c.path), path: c.path, from: c.t_s, to: Math.max(c.t_s, changes[i + 1]?.t_s ?? r.duration_s) }))

  const held = new Map<string, number>()
  for (const s of spans) held.set(s.key, (held.get(s.key) ?? 0) + (s.to - s.from))
  let keep = new Set(held.keys())
  const OTHER = '\u0000other'
  if (held.size > MAX_PATH_ROWS) {
    // Being unreachable is the one state a reader must always see, however briefly it lasted.
    const ranked = [...held.entries()].filter(([k]) => k !== 'unreachable').sort((a, b) => b[1] - a[1]).map(([k]) => k)
    const slots = MAX_PATH_ROWS - 1 - (held.has('unreachable') ? 1 : 0)
    keep = new Set(ranked.slice(0, slots))
    if (held.has('unreachable')) keep.add('unreachable')
  }
  const rowKey = (k: string): string => (keep.has(k) ? k : OTHER)

  // Rows in order of first use, so the chart reads top to bottom like the story of the run.
  const order: string[] = []
  for (const s of spans) if (!order.includes(rowKey(s.key))) order.push(rowKey(s.key))
  const others = held.size - keep.size
  const rows: BandRow[] = order.map((k, i) => {
    if (k === 'unreachable') return { label: 'unreachable', color: UNREACHABLE }
    if (k === OTHER) return { label: `${others} other paths`, color: '#aaaaaa' }
    const path = spans.find((s) => s.key === k)?.path ?? []
    return { label: shortPath(path), color: PATH_COLOURS[i % PATH_COLOURS.length] }
  })
  return bandChart({
    title: `${f.id}: path in use (${f.from} → ${f.to})`,
    xMax: r.duration_s,
    rows,
    bands: spans.map((s) => ({ row: order.indexOf(rowKey(s.key)), from: s.from, to: s.to })),
    markers: eventMarkers(r)
  })
}

export function flowCharts (f: FlowResult, r: SimResult): FlowCharts {
  return { latency: latencyChart(f, r), loss: lossChart(f, r), paths: pathChart(f, r) }
}
