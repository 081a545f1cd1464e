/**
 * Hand-written SVG for the simulation report: a time-series line chart and a band chart (one row
 * per category, a bar while it holds), both over a time axis with labelled event markers. No
 * dependency: the report must render wherever Markdown does (GitHub, an IDE preview, a browser)
 * without scripts or fonts, so the output is plain static SVG 1.1 with a white background that
 * stays legible in dark-mode viewers.
 */

const WIDTH = 760
const FONT = 'font-family="system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif"'
const AXIS = '#444'
const GRID = '#e5e5e5'
const MARKER = '#7f7f7f'
/** Label rows above the plot for event markers; more than this and labels would bury the plot. */
const MARKER_ROWS = 3
const MARKER_ROW_H = 12
/** Rough advance of a 10 px sans-serif glyph, enough to keep labels from overlapping. */
const CHAR_W = 5.6
const MARKER_LABEL_MAX = 32

export interface Marker {
  x: number
  label: string
  /** Used instead of `label` where the full label would collide with its neighbours (a number). */
  short?: string
}

export interface LineSeries {
  name: string
  color: string
  dashed?: boolean
  /** [x, y]; a null y breaks the line, so gaps in the data stay visible as gaps. */
  points: Array<[number, number | null]>
}

export interface LineChartSpec {
  title: string
  xMax: number
  /** Formats a y tick ("20 ms", "5%"). */
  yFormat: (v: number) => string
  /** Smallest y range shown, so an all-zero series still gets a readable axis. */
  yMinSpan: number
  /** Upper bound of the y axis (loss never exceeds 100%). */
  yCap?: number
  series: LineSeries[]
  markers: Marker[]
}

export interface BandRow {
  label: string
  color: string
}

export interface BandChartSpec {
  title: string
  xMax: number
  rows: BandRow[]
  /** A bar on `row` from `from` to `to` (x units). */
  bands: Array<{ row: number, from: number, to: number }>
  markers: Marker[]
}

/** Coordinates to one decimal: sub-pixel at this size, and it keeps a 600-point series small. */
export function num (v: number): string {
  const r = Math.round(v * 10) / 10
  return Object.is(r, -0) ? '0' : String(r)
}

export function escapeXml (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')
}

/** Shortens a label in the middle, where the least telling part of a path or id usually is. */
export function ellipsize (s: string, max: number): string {
  if (s.length <= max) return s
  const head = Math.ceil((max - 1) / 2)
  return `${s.slice(0, head)}…${s.slice(s.length - (max - 1 - head))}`
}

/** Round tick step (1, 2 or 5 × 10^k) giving about `target` intervals over [0, max]. */
export function niceStep (max: number, target: number): number {
  const raw = max / target
  const mag = 10 ** Math.floor(Math.log10(raw))
  const f = raw / mag
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag
}

/** Ticks from 0 to the first multiple of a nice step at or above max. */
export function niceTicks (max: number, target: number): number[] {
  const span = max > 0 && Number.isFinite(max) ? max : 1
  const step = niceStep(span, target)
  const n = Math.ceil(span / step - 1e-9)
  // Multiplying rather than accumulating keeps 0.1 + 0.2-style drift out of the labels.
  return Array.from({ length: n + 1 }, (_, i) => Number((i * step).toPrecision(12)))
}

interface Plot {
  left: number
  top: number
  right: number
  bottom: number
  xMax: number
}

const xOf = (p: Plot, x: number): number => p.left + (Math.min(Math.max(x, 0), p.xMax) / p.xMax) * (p.right - p.left)

interface PlacedMarker {
  x: number
  row: number
  /** null when not even the short label fits: the line alone still marks the time. */
  text: string | null
  anchor: 'start' | 'end'
}

/**
 * Places marker labels in rows above the plot, first fit left to right. If any full label finds no
 * room, every marker is labelled by its short form instead, so a chart reads one way throughout:
 * dense events (a link flapping every few seconds) become numbers that the report's events table
 * explains, never overprinted text. A label that still finds no room is left out; the line alone
 * still marks the time, which matters more than the caption.
 */
function layoutMarkers (p: Plot, markers: Marker[]): PlacedMarker[] {
  const sorted = [...markers].sort((a, b) => a.x - b.x)
  const full = placeLabels(p, sorted, (m) => ellipsize(m.label, MARKER_LABEL_MAX))
  if (full.every((m) => m.text !== null)) return full
  return placeLabels(p, sorted, (m) => m.short ?? ellipsize(m.label, MARKER_LABEL_MAX))
}

function placeLabels (p: Plot, markers: Marker[], labelOf: (m: Marker) => string): PlacedMarker[] {
  const ends = new Array<number>(MARKER_ROWS).fill(-Infinity)
  return markers.map((m) => {
    const x = xOf(p, m.x)
    const text = labelOf(m)
    const w = text.length * CHAR_W
    // Near the right edge the label reads leftwards from its line instead of running off the chart.
    const anchor = x - 1 + w > WIDTH - 4 ? 'end' : 'start'
    const from = anchor === 'start' ? x - 1 : x + 1 - w
    const row = ends.findIndex((end) => end + 6 <= from)
    if (row < 0) return { x, row: 0, text: null, anchor }
    ends[row] = anchor === 'start' ? from + w : x + 1
    return { x, row, text, anchor }
  })
}

function markerRowsUsed (p: Plot, markers: Marker[]): number {
  return markers.length === 0 ? 0 : Math.max(...layoutMarkers(p, markers).map((m) => m.row)) + 1
}

function header (title: string, height: number): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${num(height)}" viewBox="0 0 ${WIDTH} ${num(height)}" role="img" aria-label="${escapeXml(title)}" ${FONT} font-size="11">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${WIDTH}" height="${num(height)}" fill="#fff"/>`,
    `<text x="12" y="18" font-size="13" font-weight="600" fill="#222">${escapeXml(title)}</text>`
  ]
}

/** Time ticks, vertical grid and the axis caption along the bottom. */
function timeAxis (p: Plot): string[] {
  const out: string[] = []
  const ticks = niceTicks(p.xMax, 8).filter((t) => t <= p.xMax + 1e-9)
  for (const t of ticks) {
    const x = num(xOf(p, t))
    out.push(`<line x1="${x}" y1="${num(p.top)}" x2="${x}" y2="${num(p.bottom)}" stroke="${GRID}"/>`)
    out.push(`<text x="${x}" y="${num(p.bottom + 14)}" text-anchor="middle" fill="${AXIS}">${num(t)}</text>`)
  }
  out.push(`<line x1="${num(p.left)}" y1="${num(p.bottom)}" x2="${num(p.right)}" y2="${num(p.bottom)}" stroke="${AXIS}"/>`)
  out.push(`<text x="${num((p.left + p.right) / 2)}" y="${num(p.bottom + 28)}" text-anchor="middle" fill="${AXIS}">time (s)</text>`)
  return out
}

function markerLayer (p: Plot, markers: Marker[]): string[] {
  if (markers.length === 0) return []
  const out: string[] = ['<g class="events">']
  for (const m of layoutMarkers(p, markers)) {
    const x = num(m.x)
    // Row 0 sits just above the plot, so the busiest row is the one closest to the data. Lines
    // stay inside the plot: drawn up to their label, they would strike through the rows below it.
    const y = p.top - 4 - m.row * MARKER_ROW_H
    out.push(`<line class="event" x1="${x}" y1="${num(p.top)}" x2="${x}" y2="${num(p.bottom)}" stroke="${MARKER}" stroke-dasharray="3 3"/>`)
    if (m.text !== null) out.push(`<text x="${num(m.anchor === 'start' ? m.x - 1 : m.x + 1)}" y="${num(y)}" text-anchor="${m.anchor}" font-size="10" fill="#333">${escapeXml(m.text)}</text>`)
  }
  out.push('</g>')
  return out
}

/** Legend entries right-aligned on the title line. */
function legend (series: LineSeries[]): string[] {
  const out: string[] = []
  let x = WIDTH - 12
  for (const s of [...series].reverse()) {
    const w = s.name.length * 6.2
    out.push(`<text x="${num(x)}" y="18" text-anchor="end" fill="#222">${escapeXml(s.name)}</text>`)
    x -= w + 6
    out.push(`<line x1="${num(x - 22)}" y1="14" x2="${num(x)}" y2="14" stroke="${s.color}" stroke-width="2"${s.dashed === true ? ' stroke-dasharray="6 3"' : ''}/>`)
    x -= 22 + 16
  }
  return out
}

/** More points than this carry no more detail across a ~700 px plot, only file size. */
const MAX_POINTS = 1200

/**
 * Thins a long series to at most `max` points by keeping the worst (largest) value of each group
 * of consecutive points: a one-second loss burst in a day-long run must stay visible. A group with
 * no value stays a gap.
 */
export function thin (points: Array<[number, number | null]>, max: number): Array<[number, number | null]> {
  if (points.length <= max) return points
  const k = Math.ceil(points.length / max)
  const out: Array<[number, number | null]> = []
  for (let i = 0; i < points.length; i += k) {
    let worst: number | null = null
    for (const [, y] of points.slice(i, i + k)) if (y !== null && Number.isFinite(y) && (worst === null || y > worst)) worst = y
    out.push([points[i][0], worst])
  }
  return out
}

/** Splits a series at null values into drawable runs. */
function runs (points: Array<[number, number | null]>): Array<Array<[number, number]>> {
  const out: Array<Array<[number, number]>> = []
  let cur: Array<[number, number]> = []
  for (const [x, y] of points) {
    if (y === null || !Number.isFinite(y)) {
      if (cur.length > 0) out.push(cur)
      cur = []
    } else {
      cur.push([x, y])
    }
  }
  if (cur.length > 0) out.push(cur)
  return out
}

export function lineChart (spec: LineChartSpec): string {
  const xMax = spec.xMax > 0 ? spec.xMax : 1
  const probe: Plot = { left: 64, top: 0, right: WIDTH - 16, bottom: 0, xMax }
  const top = 30 + markerRowsUsed(probe, spec.markers) * MARKER_ROW_H
  const p: Plot = { ...probe, top, bottom: top + 190 }
  const height = p.bottom + 38

  const series = spec.series.map((s) => ({ ...s, points: thin(s.points, MAX_POINTS) }))
  let dataMax = spec.yMinSpan
  let any = false
  for (const s of series) {
    for (const [, y] of s.points) {
      if (y === null || !Number.isFinite(y)) continue
      any = true
      if (y > dataMax) dataMax = y
    }
  }
  const ticks = niceTicks(Math.min(dataMax, spec.yCap ?? Infinity), 5)
  const yMax = ticks[ticks.length - 1]
  const yOf = (y: number): number => p.bottom - (Math.min(Math.max(y, 0), yMax) / yMax) * (p.bottom - p.top)

  const out = header(spec.title, height)
  out.push(...legend(series))
  for (const t of ticks) {
    const y = num(yOf(t))
    out.push(`<line x1="${num(p.left)}" y1="${y}" x2="${num(p.right)}" y2="${y}" stroke="${GRID}"/>`)
    out.push(`<text x="${num(p.left - 6)}" y="${num(yOf(t) + 4)}" text-anchor="end" fill="${AXIS}">${escapeXml(spec.yFormat(t))}</text>`)
  }
  out.push(...timeAxis(p))
  out.push(`<line x1="${num(p.left)}" y1="${num(p.top)}" x2="${num(p.left)}" y2="${num(p.bottom)}" stroke="${AXIS}"/>`)
  out.push(...markerLayer(p, spec.markers))
  if (!any) {
    out.push(`<text x="${num((p.left + p.right) / 2)}" y="${num((p.top + p.bottom) / 2)}" text-anchor="middle" fill="${AXIS}">no data</text>`)
  }
  for (const s of series) {
    const dash = s.dashed === true ? ' stroke-dasharray="6 3"' : ''
    out.push(`<g class="series" fill="none" stroke="${s.color}" stroke-width="1.6"${dash}>`)
    for (const run of runs(s.points)) {
      if (run.length === 1) {
        // A lone second between gaps has no line to draw; a dot keeps it from vanishing.
        out.push(`<circle cx="${num(xOf(p, run[0][0]))}" cy="${num(yOf(run[0][1]))}" r="2" fill="${s.color}" stroke="none"/>`)
      } else {
        out.push(`<polyline points="${run.map(([x, y]) => `${num(xOf(p, x))},${num(yOf(y))}`).join(' ')}"/>`)
      }
    }
    out.push('</g>')
  }
  out.push('</svg>')
  return out.join('\n') + '\n'
}

const BAND_ROW_H = 20
const BAND_LABEL_MAX = 44

export function bandChart (spec: BandChartSpec): string {
  const xMax = spec.xMax > 0 ? spec.xMax : 1
  const labels = spec.rows.map((r) => ellipsize(r.label, BAND_LABEL_MAX))
  // Row labels sit left of the bars; the margin grows with them rather than clipping a path.
  const left = Math.min(300, Math.max(64, 16 + Math.max(0, ...labels.map((l) => l.length)) * 6.2))
  const probe: Plot = { left, top: 0, right: WIDTH - 16, bottom: 0, xMax }
  const top = 30 + markerRowsUsed(probe, spec.markers) * MARKER_ROW_H
  const rows = Math.max(1, spec.rows.length)
  const p: Plot = { ...probe, top, bottom: top + rows * BAND_ROW_H + 6 }
  const height = p.bottom + 38

  const out = header(spec.title, height)
  out.push(...timeAxis(p))
  spec.rows.forEach((r, i) => {
    const y = p.top + 3 + i * BAND_ROW_H
    out.push(`<text x="${num(p.left - 6)}" y="${num(y + BAND_ROW_H / 2 + 4)}" text-anchor="end" fill="#222">${escapeXml(labels[i])}</text>`)
  })
  if (spec.rows.length === 0) {
    out.push(`<text x="${num((p.left + p.right) / 2)}" y="${num(p.top + 17)}" text-anchor="middle" fill="${AXIS}">no path reported</text>`)
  }
  out.push('<g class="bands">')
  for (const b of spec.bands) {
    const row = spec.rows[b.row]
    if (row === undefined) continue
    const x0 = xOf(p, b.from)
    // A path held for a moment still gets a visible sliver.
    const w = Math.max(1, xOf(p, b.to) - x0)
    out.push(`<rect x="${num(x0)}" y="${num(p.top + 6 + b.row * BAND_ROW_H)}" width="${num(w)}" height="${BAND_ROW_H - 6}" fill="${row.color}"/>`)
  }
  out.push('</g>')
  out.push(`<line x1="${num(p.left)}" y1="${num(p.top)}" x2="${num(p.left)}" y2="${num(p.bottom)}" stroke="${AXIS}"/>`)
  out.push(...markerLayer(p, spec.markers))
  out.push('</svg>')
  return out.join('\n') + '\n'
}
