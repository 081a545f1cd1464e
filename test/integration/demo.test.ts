import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { test } from 'node:test'
import { CLI } from '../helpers/relay-process.js'

function childrenOf (pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').map((s) => Number(s.trim())).filter((n) => n > 0)
  } catch { return [] }
}

function alive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}

test('relaymesh demo runs a live mesh with a web map, and Ctrl-C leaves no process behind', { timeout: 120_000 }, async () => {
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
    assert.ok((topo.routes.london?.tokyo?.path.length ?? 0) >= 2, 'london routes to tokyo')
    const kids = childrenOf(proc.pid as number)
    assert.equal(kids.length, 6, `a controller and five relays run (${kids.length})`)
    await new Promise((resolve) => setTimeout(resolve, 6000))
    assert.match(out + err, /london→tokyo|lost/)
    proc.kill('SIGINT')
    assert.equal(await exited, 0)
    assert.match(out, /every process it started has exited/)
    for (const pid of kids) assert.equal(alive(pid), false, `child ${pid} is gone`)
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL')
  }
})
