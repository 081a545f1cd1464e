import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { renderMarkdown, summaryLine, writeReport } from '../../sim/report.js'
import { pct } from '../../sim/report/format.js'
import { lossChart, pathChart } from '../../sim/report/flow-charts.js'
import { niceTicks, thin } from '../../sim/report/svg.js'
import type { FlowResult, SimResult } from '../../sim/types.js'

/** A triangle run: f1 survives an a–c outage through b; f2's destination never answers. */
function triangleResult (): SimResult {
  const series: FlowResult['series'] = []
  for (let t = 0; t < 60; t++) {
    const out = t >= 20 && t < 40
    series.push({
      t_s: t,
      sent: 50,
      loss: t === 20 ? 0.08 : 0,
      p50_ms: out ? 24.2 : 15.1,
      direct_loss: out ? 1 : 0.2,
      direct_p50_ms: out ? null : 15.0
    })
  }
  const f1: FlowResult = {
    id: 'f1',
    from: 'a',
    to: 'c',
    sent: 3000,
    delivered: 2988,
    loss: 0.004,
    direct_loss: 0.201,
    p50_ms: 15.3,
    p99_ms: 24.9,
    direct_p50_ms: 15.0,
    direct_p99_ms: 15.6,
    path_changes: [{ t_s: 0, path: ['a', 'c'] }, { t_s: 20.3, path: ['a', 'b', 'c'] }, { t_s: 52.1, path: ['a', 'c'] }],
    series
  }
  const f2: FlowResult = {
    id: 'f2',
    from: 'b',
    to: 'c',
    sent: 500,
    delivered: 0,
    loss: 1,
    direct_loss: 1,
    p50_ms: null,
    p99_ms: null,
    direct_p50_ms: null,
    direct_p99_ms: null,
    path_changes: [{ t_s: 5, path: [] }],
    series: Array.from({ length: 60 }, (_, t) => ({ t_s: t, sent: t >= 5 && t < 15 ? 50 : 0, loss: 1, p50_ms: null, direct_loss: 1, direct_p50_ms: null }))
  }
  return {
    scenario: 'triangle-failover',
    mode: 'model',
    seed: 1,
    duration_s: 60,
    relays: 3,
    wall_ms: 1234,
    flows: [f1, f2],
    events: [
      { t_s: 20, kind: 'link', target: 'a–c', label: 'a–c outage', convergence_ms: 310 },
      { t_s: 40, kind: 'link', target: 'a–c', label: 'a|c back', convergence_ms: null }
    ],
    final_routes: {
      a: { b: { next_hop: 'b', path: ['a', 'b'] }, c: { next_hop: 'c', path: ['a', 'c'] } },
      b: { a: { next_hop: 'a', path: ['b', 'a'] }, c: { next_hop: 'c', path: ['b', 'c'] } },
      c: { a: { next_hop: 'a', path: ['c', 'a'] } }
    },
    table_versions: 7
  }
}

/**
 * A parse-ish check that an SVG document is well-formed XML: one root <svg>, every tag closed in
 * order, attributes quoted, no stray '<' or '&' in text, and no number that failed to compute.
 */
function assertWellFormedSvg (svg: string): void {
  assert.ok(svg.startsWith('<svg '), 'starts with <svg')
  assert.ok(svg.trimEnd().endsWith('</svg>'), 'ends with </svg>')
  assert.doesNotMatch(svg, /NaN|undefined|Infinity/)
  assert.doesNotMatch(svg.replace(/&(amp|lt|gt|quot|apos);/g, ''), /&/, 'every & is an entity')
  const stack: string[] = []
  let rest = svg
  let roots = 0
  for (;;) {
    const open = rest.indexOf('<')
    if (open < 0) break
    const close = rest.indexOf('>', open)
    assert.ok(close > open, 'tag is closed')
    const tag = rest.slice(open + 1, close)
    assert.ok(!tag.includes('<'), `no '<' inside a tag: ${tag}`)
    if (tag.startsWith('/')) {
      assert.equal(stack.pop(), tag.slice(1), `closing </${tag.slice(1)}> matches`)
    } else {
      const m = /^([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"]*")*)\s*(\/?)$/.exec(tag)
      assert.ok(m !== null, `tag with quoted attributes: <${tag}>`)
      if (stack.length === 0) roots++
      if (m[3] !== '/') stack.push(m[1])
    }
    rest = rest.slice(close + 1)
  }
  assert.deepEqual(stack, [], 'every element closed')
  assert.equal(roots, 1, 'one root element')
}

test('writeReport writes result.json, report.md and three well-formed SVG charts per flow', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rm-report-'))
  try {
    const result = triangleResult()
    const files = await writeReport(result, join(dir, 'out'))
    assert.equal(files.json, join(dir, 'out', 'result.json'))
    assert.equal(files.markdown, join(dir, 'out', 'report.md'))
    assert.deepEqual(files.charts.map((p) => p.slice(join(dir, 'out', 'charts').length + 1)).sort(),
      ['f1-latency.svg', 'f1-loss.svg', 'f1-paths.svg', 'f2-latency.svg', 'f2-loss.svg', 'f2-paths.svg'])
    for (const p of files.charts) assert.ok((await stat(p)).size > 0)
    assert.deepEqual((await readdir(join(dir, 'out'))).sort(), ['charts', 'report.md', 'result.json'])

    assert.deepEqual(JSON.parse(await readFile(files.json, 'utf8')), result)

    for (const p of files.charts) assertWellFormedSvg(await readFile(p, 'utf8'))
    const latency = await readFile(join(dir, 'out', 'charts', 'f1-latency.svg'), 'utf8')
    // Mesh and direct series, the direct one broken by the outage's nulls into two runs.
    assert.equal((latency.match(/<polyline /g) ?? []).length, 3)
    assert.equal((latency.match(/<line class="event"/g) ?? []).length, 2)
    assert.match(latency, />a–c outage</)
    assert.match(latency, />a\|c back</)
    const loss = await readFile(join(dir, 'out', 'charts', 'f1-loss.svg'), 'utf8')
    assert.match(loss, />100%</, 'the direct path\'s total loss during the outage sets the axis')
    const paths = await readFile(join(dir, 'out', 'charts', 'f1-paths.svg'), 'utf8')
    assert.match(paths, />a → c</)
    assert.match(paths, />a → b → c</)
    assert.equal((paths.match(/<rect x=/g) ?? []).length, 3, 'one bar per period a path was held')
    assert.match(await readFile(join(dir, 'out', 'charts', 'f2-paths.svg'), 'utf8'), />unreachable</)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('report.md states the headline, the figures, the events and the final routes', () => {
  const md = renderMarkdown(triangleResult(), new Map([['f1', { latency: 'charts/f1-latency.svg', loss: 'charts/f1-loss.svg', paths: 'charts/f1-paths.svg' }]]))
  assert.match(md, /^# Simulation: triangle-failover \(model mode\)\n/)
  assert.match(md, /Flow f1 \(a → c\) lost 0\.4% through the mesh where the direct path lost 20\.1%, at a median one-way latency of 15\.3 ms against 15\.0 ms direct\./)
  assert.match(md, /Flow f2 \(b → c\) delivered nothing through the mesh; the direct path lost 100\.0%\./)
  assert.match(md, /\| f1 \| a → c \| 3000 \| 2988 \| 0\.4% \| 20\.1% \| 15\.3 ms \| 15\.0 ms \| 24\.9 ms \| 15\.6 ms \| 2 \|/)
  assert.match(md, /\| f2 \| b → c \| 500 \| 0 \| 100\.0% \| 100\.0% \| — \| — \| — \| — \| 0 \|/)
  assert.match(md, /\| 1 \| 20 s \| a–c outage \| a–c \| 310 ms \|/)
  assert.match(md, /\| 2 \| 40 s \| a\\\|c back \| a–c \| — \|/, 'a pipe in a label is escaped and a null convergence is a dash')
  assert.match(md, /- f1 \(a → c\): a → c\n- f2 \(b → c\): b → c/)
  assert.match(md, /\| c \| a \| — \| · \|/, 'the next-hop matrix marks a missing route')
  assert.match(md, /!\[f1: p50 one-way latency[^\]]*\]\(charts\/f1-latency\.svg\)/)
  assert.match(md, /\(charts\/f1-loss\.svg\)/)
  assert.match(md, /\(charts\/f1-paths\.svg\)/)
  assert.doesNotMatch(md, /NaN|undefined|null/)
})

test('a large mesh gets per-flow paths but no next-hop matrix, and many flows one pooled headline', () => {
  const r = triangleResult()
  r.relays = 1000
  r.flows = Array.from({ length: 10 }, (_, i) => ({ ...r.flows[0], id: `f${i}`, loss: i === 7 ? 0.05 : 0.001, sent: 1000 }))
  const md = renderMarkdown(r)
  assert.doesNotMatch(md, /Next hop from each relay/)
  assert.match(md, /Across 10 flows the mesh lost 0\.59% of packets where the direct paths lost 20\.1%; the worst flow, f7 \(a → c\), lost 5\.0%\./)
  assert.doesNotMatch(md, /## Charts/, 'no chart links when no charts were written')
})

test('summaryLine names each flow\'s loss and latency against direct, and the slowest convergence', () => {
  assert.equal(summaryLine(triangleResult()),
    'triangle-failover (model, 60 s, 3 relays): f1 loss 0.4% (direct 20.1%), p50 15.3 ms (direct 15.0 ms), 2 path changes; ' +
    'f2 loss 100.0% (direct 100.0%), p50 — (direct —), 0 path changes; 2 events, slowest convergence 310 ms')
  const r = triangleResult()
  r.flows = [r.flows[0], r.flows[0], r.flows[0], { ...r.flows[0], id: 'f4', loss: 0.02 }]
  r.events = []
  assert.equal(summaryLine(r), 'triangle-failover (model, 60 s, 3 relays): 4 flows, loss 0.8% (direct 20.1%), worst f4 2.0%')
})

test('the path chart keeps unreachable visible and folds rarely used paths into one row', () => {
  const r = triangleResult()
  const changes = Array.from({ length: 30 }, (_, i) => ({ t_s: i * 2, path: i === 29 ? [] : ['a', `x${i % 14}`, 'c'] }))
  const svg = pathChart({ ...r.flows[0], path_changes: changes }, r)
  assertWellFormedSvg(svg)
  assert.match(svg, />unreachable</)
  assert.match(svg, />6 other paths</)
  assert.equal((svg.match(/text-anchor="end" fill="#222"/g) ?? []).length, 10, 'ten rows')
})

test('loss figures keep small losses distinguishable and never print 0% for a loss', () => {
  assert.equal(pct(0), '0%')
  assert.equal(pct(0.00004), '<0.01%')
  assert.equal(pct(0.0004), '0.04%')
  assert.equal(pct(0.004), '0.4%')
  assert.equal(pct(0.2012), '20.1%')
  assert.equal(pct(null), '—')
  assert.deepEqual(niceTicks(0.3, 5), [0, 0.1, 0.2, 0.3])
  assert.deepEqual(niceTicks(0, 5), [0, 0.2, 0.4, 0.6, 0.8, 1])
})

test('a day-long run is thinned for drawing but keeps a one-second loss burst and its gaps', () => {
  const pts: Array<[number, number | null]> = Array.from({ length: 86_400 }, (_, t) => [t, t < 3600 ? null : t === 50_000 ? 0.9 : 0])
  const thinned = thin(pts, 1200)
  assert.ok(thinned.length <= 1200)
  assert.ok(thinned.some(([, y]) => y === 0.9), 'the burst survives')
  assert.equal(thinned[0][1], null, 'a gap stays a gap')
  const r = triangleResult()
  r.duration_s = 86_400
  const series = pts.map(([t, y]) => ({ t_s: t, sent: y === null ? 0 : 50, loss: y ?? 0, p50_ms: 20, direct_loss: 0, direct_p50_ms: 20 }))
  const svg = lossChart({ ...r.flows[0], series }, r)
  assertWellFormedSvg(svg)
  assert.ok(svg.length < 100_000, `${svg.length} bytes`)
  assert.match(svg, />100%</, 'the burst sets the axis')
})

test('crowded event markers fall back to their event numbers instead of overprinting', () => {
  const r = triangleResult()
  r.duration_s = 90
  r.events = Array.from({ length: 20 }, (_, i) => ({ t_s: 10 + i * 2.5, kind: 'link', target: 'a–c', label: `a–c flapping, step ${i + 1}`, convergence_ms: null }))
  const svg = lossChart(r.flows[0], r)
  assertWellFormedSvg(svg)
  assert.equal((svg.match(/<line class="event"/g) ?? []).length, 20, 'every event keeps its line')
  for (let i = 1; i <= 20; i++) assert.match(svg, new RegExp(`>${i}</text>`), `event ${i} is labelled by its number`)
  assert.doesNotMatch(svg, /flapping, step/, 'numbers throughout, not a mix')
  // Labels in one row never overlap: each starts after the previous one ends.
  const rows = new Map<string, Array<[number, number]>>()
  for (const m of svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)" text-anchor="start" font-size="10" fill="#333">([^<]*)<\/text>/g)) {
    const spans = rows.get(m[2]) ?? []
    spans.push([Number(m[1]), Number(m[1]) + m[3].length * 5.6])
    rows.set(m[2], spans)
  }
  for (const spans of rows.values()) {
    spans.sort((a, b) => a[0] - b[0])
    for (let i = 1; i < spans.length; i++) assert.ok(spans[i][0] >= spans[i - 1][1], `labels overlap at x=${spans[i][0]}`)
  }
})
