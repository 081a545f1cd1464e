import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { test } from 'node:test'
import { CLI, waitFor } from '../helpers/relay-process.js'
import { DEMO_RELAYS } from '../../sim/demo.js'
import { oneWayDelayMs } from '../../sim/scenario.js'

function childrenOf (pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').map((s) => Number(s.trim())).filter((n) => n > 0)
  } catch { return [] }
}

/** The least one-way delay from `src` to `dst` over the demo's emulated links (Dijkstra on five nodes). */
function leastDelayMs (src: string, dst: string): number {
  const dist = new Map(DEMO_RELAYS.map((r) => [r.id, r.id === src ? 0 : Infinity]))
  const todo = new Set(DEMO_RELAYS.map((r) => r.id))
  while (todo.size > 0) {
    const u = [...todo].reduce((a, b) => ((dist.get(a) as number) <= (dist.get(b) as number) ? a : b))
    todo.delete(u)
    const ru = DEMO_RELAYS.find((r) => r.id === u) as typeof DEMO_RELAYS[number]
    for (const rv of DEMO_RELAYS) {
      const d = (dist.get(u) as number) + oneWayDelayMs(ru, rv)
      if (rv.id !== u && d < (dist.get(rv.id) as number)) dist.set(rv.id, d)
    }
  }
  return dist.get(dst) as number
}

function alive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}

test('relaymesh demo runs a live mesh with a web map, and Ctrl-C leaves no process behind', { timeout: 240_000 }, async () => {
  const proc = spawn(process.execPath, [CLI, 'demo', '--http', '127.0.0.1:0', '--event-interval', '4'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  proc.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
  proc.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
  const exited = new Promise<number | null>((resolve) => { proc.once('exit', (code) => { resolve(code) }) })
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => { reject(new Error(`no web map URL: ${out} ${err}`)) }, 90_000)
      const check = (): void => {
        const m = /web map at (http:\/\/\S+)/.exec(out)
        if (m !== null) { clearTimeout(t); resolve(m[1]) }
      }
      proc.stdout.on('data', check)
      void exited.then(() => { reject(new Error(`demo exited early: ${err}`)) })
    })
    const page = await fetch(url)
    assert.equal(page.status, 200)
    const topo = await (await fetch(new URL('/api/topology', url))).json() as { relays: Array<{ id: string, up: boolean }>, routes: Record<string, Record<string, { path: string[] }>> }
    assert.deepEqual(topo.relays.map((r) => r.id).sort(), ['frankfurt', 'london', 'newyork', 'singapore', 'tokyo'])
    const path = topo.routes.london?.tokyo?.path ?? []
    assert.ok(path.length >= 2 && path[0] === 'london' && path[path.length - 1] === 'tokyo', `london routes to tokyo (${path.join(' → ')})`)
    const kids = childrenOf(proc.pid as number)
    assert.equal(kids.length, 6, `a controller and five relays run (${kids.length})`)
    // The first impairment event on the flow's path, shown as it happens (stdout is not a TTY).
    await waitFor(() => /\] \S+–\S+ (now loses 30%|is down) \(it carries the london→tokyo flow\)/.test(out), 60_000, `an impairment event: ${out}`)
    proc.kill('SIGINT')
    assert.equal(await exited, 0)
    assert.match(out, /every process it started has exited/)
    // The summary's figures come from the flow it ran: packets sent, and for the mesh and the
    // direct link the loss and a median no faster than the emulated delays allow.
    const m = /london→tokyo: (\d+) packets; through the mesh ([\d.]+)% lost, p50 ([\d.]+) ms; direct link ([\d.]+)% lost, p50 ([\d.]+) ms/.exec(out)
    assert.ok(m !== null, `a summary with figures: ${out}`)
    const [packets, meshLoss, meshP50, directLoss, directP50] = m.slice(1).map(Number)
    assert.ok(packets >= 50, `a second or more of the 50 packet/s flow (${packets})`)
    for (const loss of [meshLoss, directLoss]) assert.ok(loss >= 0 && loss < 100, `loss ${loss}% is a share of what was sent`)
    const [london, tokyo] = ['london', 'tokyo'].map((id) => DEMO_RELAYS.find((r) => r.id === id) as typeof DEMO_RELAYS[number])
    // 1 ms of emulated jitter either way.
    assert.ok(directP50 >= oneWayDelayMs(london, tokyo) - 1, `direct p50 ${directP50} ms is at least the emulated ${oneWayDelayMs(london, tokyo).toFixed(1)} ms`)
    assert.ok(meshP50 >= leastDelayMs('london', 'tokyo') - 5, `mesh p50 ${meshP50} ms is at least the best path's ${leastDelayMs('london', 'tokyo').toFixed(1)} ms`)
    for (const pid of kids) assert.equal(alive(pid), false, `child ${pid} is gone`)
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL')
  }
})
