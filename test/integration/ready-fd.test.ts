import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import dgram from 'node:dgram'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { READY_FD, READY_STDIO, readyLine, hostPortOf } from '../../sim/process/daemons.js'
import { CLI, freeTcpPort, freeUdpPort, makeMeshDir, runCli, startRelay, waitFor } from '../helpers/relay-process.js'
import { MeshHarness, startControllerProcess } from '../helpers/mesh-harness.js'

interface Health { role: string, ready: boolean }
const health = async (url: string): Promise<Health> => await (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) })).json() as Health

/** True when something already holds this UDP port on 127.0.0.1. */
async function udpPortTaken (port: number): Promise<boolean> {
  const s = dgram.createSocket('udp4')
  try {
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(port, '127.0.0.1', resolve) })
    return false
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EADDRINUSE'
  } finally {
    s.close()
  }
}

test('relay --ready-fd writes its bound addresses once they answer, and a static relay is ready at once', async () => {
  const mesh = await makeMeshDir(['a', 'b'], [['a', 'b']])
  const relay = await startRelay(mesh, 'a', ['--tunnel', '127.0.0.1:0@b=127.0.0.1:9'])
  try {
    const r = relay.ready as { pid: number, listen: unknown, http: unknown, tunnels: Array<{ spec: string, listen: unknown }> }
    assert.equal(r.pid, relay.proc.pid)
    assert.equal(hostPortOf(r.listen).port, mesh.ports.get('a'))
    // No retry: the line must come after the sockets are bound, so each address answers now.
    assert.deepEqual(await health(relay.httpUrl), { role: 'relay', ready: true })
    assert.equal(await udpPortTaken(hostPortOf(r.listen).port), true, 'the mesh port is bound')
    assert.equal(r.tunnels.length, 1)
    assert.equal(r.tunnels[0].spec, '127.0.0.1:0@b=127.0.0.1:9')
    const tunnelPort = hostPortOf(r.tunnels[0].listen).port
    assert.notEqual(tunnelPort, 0)
    assert.equal(await udpPortTaken(tunnelPort), true, 'the tunnel ingress is bound')
  } finally {
    await relay.stop()
  }
})

/** Starts `relaymesh relay` following `controlPort`, keeping its tables in a state file; resolves once it wrote its ready line. */
async function controlledRelay (id: string, controlPort: number, dir: string, keyFile: string): Promise<{ proc: ChildProcess, url: string }> {
  const proc = spawn(process.execPath, [CLI, 'relay', '--id', id, '--listen', '127.0.0.1:0', '--controller', `127.0.0.1:${controlPort}`,
    '--mesh-key-file', keyFile, '--http', '127.0.0.1:0', '--state-file', join(dir, `${id}.state.json`), '--ready-fd', String(READY_FD)], { stdio: READY_STDIO })
  let log = ''
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => { log += d })
  const line = await readyLine(proc, `relay ${id}`, 20_000, () => log)
  return { proc, url: `http://127.0.0.1:${hostPortOf(line.http).port}` }
}

test('relays following a controller are not ready until they have a table (or a saved one); the controller not until it has computed one', { timeout: 180_000 }, async () => {
  const h = new MeshHarness()
  await h.init()
  const keyFile = join(h.dir, 'mesh.key')
  await writeFile(keyFile, h.meshKey.toString('base64') + '\n', { mode: 0o600 })
  // The relays start first, pointed at a controller that is not there yet. Two, because a relay
  // alone has no other relay to route to, so no table.
  const controlPort = await freeUdpPort()
  const procs: ChildProcess[] = []
  let controller: Awaited<ReturnType<typeof startControllerProcess>> | undefined
  try {
    const relays = []
    for (const id of ['a', 'b']) {
      const r = await controlledRelay(id, controlPort, h.dir, keyFile)
      procs.push(r.proc)
      relays.push(r)
    }
    for (const r of relays) assert.deepEqual(await health(r.url), { role: 'relay', ready: false }, 'bound, but no table yet')
    controller = await startControllerProcess(h, controlPort)
    assert.equal((await health(controller.http)).role, 'leader')
    for (const r of relays) await waitFor(async () => (await health(r.url)).ready, 60_000, `${r.url} to get a table`)
    await waitFor(async () => (await health(controller!.http)).ready, 30_000, 'the controller to compute tables')
    assert.deepEqual(await health(controller.http), { role: 'leader', ready: true })

    // With the controller gone, a restarted relay is ready at once on the tables it saved.
    controller.proc.kill('SIGKILL')
    const a = relays[0].proc
    const exited = new Promise((resolve) => { a.once('exit', resolve) })
    a.kill('SIGTERM')
    await exited
    const again = await controlledRelay('a', controlPort, h.dir, keyFile)
    procs.push(again.proc)
    assert.deepEqual(await health(again.url), { role: 'relay', ready: true }, 'ready on its saved tables, with no controller')
  } finally {
    for (const p of procs) p.kill('SIGTERM')
    controller?.proc.kill('SIGTERM')
  }
})

test('--ready-fd that is not an open descriptor is refused at start-up with one line', async () => {
  const mesh = await makeMeshDir(['a'], [])
  const r = await runCli('relay', '--id', 'a', '--listen', '127.0.0.1:0', '--static', mesh.meshFile, '--mesh-key-file', mesh.keyFile, '--ready-fd', '57')
  assert.equal(r.code, 2)
  assert.equal(r.stderr.trim().split('\n').length, 1)
  assert.match(r.stderr, /--ready-fd 57 is not an open file descriptor/)
  const bad = await runCli('impair', '--listen', '127.0.0.1:0', '--to', '127.0.0.1:9', '--ready-fd', 'x')
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /--ready-fd 'x' is not a file descriptor number/)
})

test('controller --ready-fd writes its control and HTTP addresses', async () => {
  const h = new MeshHarness()
  await h.init()
  const c = await startControllerProcess(h, 0)
  try {
    assert.notEqual(c.control.port, 0)
    // The HTTP address in the line answers at once.
    assert.deepEqual(await health(c.http), { role: 'leader', ready: false })
  } finally {
    c.proc.kill('SIGTERM')
  }
})

test('a relay whose ready-fd reader went away warns and keeps running', async () => {
  const mesh = await makeMeshDir(['a'], [])
  const http = await freeTcpPort()
  const proc = spawn(process.execPath, [CLI, 'relay', '--id', 'a', '--listen', `127.0.0.1:${mesh.ports.get('a') as number}`, '--static', mesh.meshFile,
    '--mesh-key-file', mesh.keyFile, '--http', `127.0.0.1:${http}`, '--ready-fd', String(READY_FD)], { stdio: READY_STDIO })
  // Close our end at once: the relay's write meets EPIPE.
  ;(proc.stdio[READY_FD] as NodeJS.ReadableStream & { destroy: () => void }).destroy()
  let log = ''
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => { log += d })
  try {
    await waitFor(() => log.includes('could not write the ready line') || proc.exitCode !== null, 30_000, 'the write to fail')
    assert.equal(proc.exitCode, null, `the relay is still running: ${log}`)
    assert.deepEqual(await health(`http://127.0.0.1:${http}`), { role: 'relay', ready: true })
  } finally {
    proc.kill('SIGTERM')
  }
})
