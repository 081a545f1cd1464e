/**
 * Sums self time per function in V8 .cpuprofile files, for reading the profiles that
 * `RELAYMESH_BENCH_PROF=DIR npm run bench:forward` writes.
 *
 *   node dist/test/bench/profile-summary.js [--top N] FILE.cpuprofile...
 *
 * Prints, per file, the busy time (all samples but idle) and the top functions by self time, with
 * their share of busy time. Functions are keyed by name and file:line, so two closures with one
 * name stay apart.
 */
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

function label (n: ProfileNode): string {
  const f = n.callFrame
  const name = f.functionName === '' ? '(anonymous)' : f.functionName
  if (f.url === '') return name
  const url = f.url.replace(/^file:\/\//, '').replace(/^.*\/dist\//, '').replace(/^node:/, 'node:')
  return `${name} ${url}:${f.lineNumber + 1}`
}

function summarise (file: string, top: number): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const self = new Map<string, number>()
  let total = 0
  let idle = 0
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i])
    if (n === undefined) continue
    const dt = p.timeDeltas[i] ?? 0
    total += dt
    if (n.callFrame.functionName === '(idle)') { idle += dt; continue }
    const k = label(n)
    self.set(k, (self.get(k) ?? 0) + dt)
  }
  const busy = total - idle
  process.stdout.write(`${basename(file)}: ${(total / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy (${(100 * busy / total).toFixed(0)}%)\n`)
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
  for (const [k, us] of rows) {
    process.stdout.write(`  ${(100 * us / busy).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}\n`)
  }
}

const args = process.argv.slice(2)
let top = 20
const i = args.indexOf('--top')
if (i >= 0) { top = Number(args[i + 1]); args.splice(i, 2) }
if (args.length === 0) {
  process.stderr.write('usage: profile-summary [--top N] FILE.cpuprofile...\n')
  process.exitCode = 2
} else {
  for (const f of args) summarise(f, top)
}
