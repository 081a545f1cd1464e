import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ioError } from '../src/errors.js'
import { flowCharts } from './report/flow-charts.js'
import { duration, ms, pathChangeCount, pct, pooledLoss, seconds } from './report/format.js'
import { renderMarkdown, type ChartLinks } from './report/markdown.js'
import type { FlowResult, SimResult } from './types.js'

export { renderMarkdown } from './report/markdown.js'

export interface ReportFiles {
  json: string
  markdown: string
  charts: string[]
}

/**
 * A flow id as a file name. Scenario ids are already safe ([A-Za-z0-9._-]), but a SimResult may
 * come from elsewhere, and two flows must never overwrite each other's charts.
 */
function chartStem (id: string, taken: Set<string>): string {
  const base = id.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_') || 'flow'
  let stem = base
  for (let i = 2; taken.has(stem); i++) stem = `${base}-${i}`
  taken.add(stem)
  return stem
}

/**
 * Writes `result.json` (the SimResult as is), `report.md` and, per flow, three SVG charts under
 * `charts/` (latency, loss, path in use). Links in the Markdown are relative, so the directory can
 * be moved or published whole. Returns the paths written.
 */
export async function writeReport (result: SimResult, outDir: string): Promise<ReportFiles> {
  const chartDir = join(outDir, 'charts')
  const files: Array<[string, string]> = []
  const links = new Map<string, ChartLinks>()
  const taken = new Set<string>()
  for (const f of result.flows) {
    const stem = chartStem(f.id, taken)
    const svg = flowCharts(f, result)
    const names = { latency: `${stem}-latency.svg`, loss: `${stem}-loss.svg`, paths: `${stem}-paths.svg` }
    links.set(f.id, { latency: `charts/${names.latency}`, loss: `charts/${names.loss}`, paths: `charts/${names.paths}` })
    files.push([join(chartDir, names.latency), svg.latency], [join(chartDir, names.loss), svg.loss], [join(chartDir, names.paths), svg.paths])
  }
  const json = join(outDir, 'result.json')
  const markdown = join(outDir, 'report.md')
  try {
    await mkdir(chartDir, { recursive: true })
    for (const [path, text] of files) await writeFile(path, text)
    await writeFile(json, JSON.stringify(result, null, 2) + '\n')
    await writeFile(markdown, renderMarkdown(result, links))
  } catch (err) {
    throw ioError(`writing the simulation report to '${outDir}'`, err)
  }
  return { json, markdown, charts: files.map(([path]) => path) }
}

function flowSummary (f: FlowResult): string {
  const n = pathChangeCount(f)
  return `${f.id} loss ${pct(f.loss)} (direct ${pct(f.direct_loss)}), p50 ${ms(f.p50_ms)} (direct ${ms(f.direct_p50_ms)}), ` +
    `${n} path change${n === 1 ? '' : 's'}`
}

/**
 * One line for the terminal once a run ends: the scenario, then each flow's loss and median
 * latency against direct (pooled when there are many flows), then how fast routes settled.
 */
export function summaryLine (result: SimResult): string {
  const head = `${result.scenario} (${result.mode}, ${seconds(result.duration_s)}, ${result.relays} relays)`
  let flows: string
  if (result.flows.length === 0) flows = 'no flows'
  else if (result.flows.length <= 3) flows = result.flows.map(flowSummary).join('; ')
  else {
    flows = `${result.flows.length} flows, loss ${pct(pooledLoss(result.flows, (f) => f.loss))} ` +
      `(direct ${pct(pooledLoss(result.flows, (f) => f.direct_loss))}), worst ${worstFlow(result.flows)}`
  }
  const conv = result.events.map((e) => e.convergence_ms).filter((c): c is number => c !== null)
  const events = result.events.length === 0
    ? ''
    : `; ${result.events.length} event${result.events.length === 1 ? '' : 's'}` +
      (conv.length === 0 ? ', no route changes' : `, slowest convergence ${duration(Math.max(...conv))}`)
  return `${head}: ${flows}${events}`
}

function worstFlow (flows: FlowResult[]): string {
  const w = [...flows].sort((a, b) => b.loss - a.loss)[0]
  return `${w.id} ${pct(w.loss)}`
}
