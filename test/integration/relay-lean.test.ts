/**
 * A relay loads only what its mode uses and runs with a small young generation (docs/performance.md).
 * A relay that loaded every command (cli/main.ts importing them all) started with ~4x the heap, and
 * V8 grew its young generation to match, so each scavenge paused forwarding for milliseconds.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { SUBCOMMANDS } from '../../cli/main.js'
import { RELAY_SEMI_SPACE_MB, SEMI_SPACE_FLAG } from '../../cli/rerun.js'
import { systemClock } from '../../src/clock.js'
import { Relay } from '../../relay/relay.js'
import { loadStaticMesh } from '../../relay/static-mesh.js'
import { CLI, freeTcpPort, makeMeshDir, type MeshDir } from '../helpers/relay-process.js'

const MODULE_LOG = fileURLToPath(new URL('../helpers/module-log.js', import.meta.url))

interface Started { proc: ChildProcess, log: () => string, relayPid: number, modules: () => Promise<string[]> }

/** Starts `relaymesh relay` logging every module it (and a re-run child) loads; waits for "relay started". */
async function startLogged (mesh: MeshDir, extra: string[]): Promise<Started> {
  const file = join(mesh.dir, `modules-${Math.random().toString(36).slice(2)}.txt`)
  const args = ['--import', MODULE_LOG, CLI, 'relay', '--id', 'a', '--listen', `127.0.0.1:${mesh.ports.get('a') as number}`,
    '--static', mesh.meshFile, '--mesh-key-file', mesh.keyFile, ...extra]
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RELAYMESH_MODULE_LOG: file } })
  let log = ''
  proc.stderr?.setEncoding('utf8')
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`relay did not start within 30 s: ${log}`)) }, 30_000)
    proc.stderr?.on('data', (d: string) => {
      log += d
      const l = log.split('\n').find((x) => x.includes('"relay started"'))
      if (l !== undefined) { clearTimeout(timer); resolve(l) }
    })
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`relay exited with ${String(code)}: ${log}`)) })
  })
  const relayPid = (JSON.parse(line) as { pid: number }).pid
  return { proc, log: () => log, relayPid, modules: async () => (await readFile(file, 'utf8')).split('\n').filter((s) => s !== '') }
}

async function stop (proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return
  const done = new Promise((resolve) => { proc.once('exit', resolve) })
  proc.kill('SIGTERM')
  await done
}

const alive = (pid: number): boolean => {
  try { process.kill(pid, 0); return true } catch { return false }
}

const HEAVY = ['/@matrixai/quic/', '/zod/', '/prom-client/', '/ioredis/', '/ws/', '/graphology', '/yaml/', '/cli-table3/', '/cli-progress/']

test('a static relay without --http loads no QUIC, zod, prom-client or other command', async () => {
  const mesh = await makeMeshDir(['a', 'b'], [['a', 'b']])
  const r = await startLogged(mesh, [])
  try {
    const mods = await r.modules()
    assert.ok(mods.some((m) => m.endsWith('/relay/relay.js')), `the module log works: ${mods.length} modules`)
    for (const heavy of HEAVY) assert.deepEqual(mods.filter((m) => m.includes(heavy)), [], `${heavy} loaded`)
    const commands = mods.filter((m) => m.includes('/cli/commands/')).map((m) => m.replace(/.*\/cli\/commands\//, ''))
    assert.deepEqual([...new Set(commands)], ['relay.js'])
  } finally {
    await stop(r.proc)
  }
})

test('--http loads prom-client: the module log sees what a mode uses', async () => {
  const mesh = await makeMeshDir(['a', 'b'], [['a', 'b']])
  const r = await startLogged(mesh, ['--http', `127.0.0.1:${await freeTcpPort()}`])
  try {
    assert.ok((await r.modules()).some((m) => m.includes('/prom-client/')))
  } finally {
    await stop(r.proc)
  }
})

test('the relay runs with a small young generation, in a child that dies with its parent', { skip: process.platform !== 'linux' && 'reads /proc', timeout: 60_000 }, async () => {
  const mesh = await makeMeshDir(['a', 'b'], [['a', 'b']])
  const r = await startLogged(mesh, [])
  try {
    assert.notEqual(r.relayPid, r.proc.pid, 'the relay re-ran itself')
    const cmdline = (await readFile(`/proc/${r.relayPid}/cmdline`, 'utf8')).split('\0')
    assert.ok(cmdline.includes(`${SEMI_SPACE_FLAG}=${RELAY_SEMI_SPACE_MB}`), cmdline.join(' '))
    const exited = new Promise((resolve) => { r.proc.once('exit', resolve) })
    r.proc.kill('SIGKILL')
    await exited
    // The child notices the closed channel and ends too; wait for it, however long that takes.
    while (alive(r.relayPid)) await new Promise((resolve) => setTimeout(resolve, 50))
    assert.doesNotMatch(r.log(), /"relay stopped"/, 'killed, as its parent was: no clean shutdown')
  } finally {
    if (alive(r.relayPid)) process.kill(r.relayPid, 'SIGKILL')
    await stop(r.proc)
  }
})

test('top-level --help names each subcommand as the subcommand describes itself', async () => {
  for (const c of SUBCOMMANDS) assert.equal((await c.load()).description(), c.summary, c.name)
})

test('a relay says so when the kernel grants less socket buffer than it asked for', async () => {
  const lines: string[] = []
  const logger = pino({ level: 'info' }, { write: (s: string) => { lines.push(s) } })
  const mesh = await makeMeshDir(['a', 'b'], [['a', 'b']])
  // Far above any net.core.rmem_max a test machine has; the kernel caps it.
  const relay = new Relay({ clock: systemClock, logger }, {
    id: 'a', listen: { host: '127.0.0.1', port: 0, family: 4 }, meshKey: new Uint8Array(32).fill(7),
    staticMesh: await loadStaticMesh(mesh.meshFile), socketBuffer: 1 << 30
  })
  await relay.start()
  await relay.stop()
  assert.ok(lines.some((l) => l.includes('capped the mesh socket buffer') && l.includes('net.core.rmem_max')), lines.join(''))
})
