import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { Identity } from '../../src/identity.js'
import { READY_FD, READY_STDIO, readyLine, hostPortOf } from '../../sim/process/daemons.js'
import { MeshHarness, startControllerProcess } from '../helpers/mesh-harness.js'
import { CLI, waitFor } from '../helpers/relay-process.js'

/**
 * The real daemons with the control channel authenticated by identities (docs/security.md): relays
 * whose keys the controller's allow-list holds, pinning the controller's key, get tables; a relay
 * whose key is not listed, and one that pins another controller key, are refused, each saying why;
 * a relay rotates its key by SIGHUPs to the controller and to itself; a relay taken off the list
 * and revoked by SIGHUP is forgotten, and told.
 */

interface Health { role: string, ready: boolean }
const health = async (url: string): Promise<Health> => await (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) })).json() as Health

async function writeIdentity (dir: string, name: string): Promise<{ file: string, pub: string, id: Identity }> {
  const id = Identity.generate()
  const file = join(dir, `${name}.id`)
  await writeFile(file, id.text + '\n', { mode: 0o600 })
  await writeFile(`${file}.pub`, id.public.text + '\n')
  return { file, pub: `${file}.pub`, id }
}

test('relays authenticate to the controller by their own keys, and pin its key', { timeout: 180_000 }, async () => {
  const h = new MeshHarness()
  await h.init()
  const keyFile = join(h.dir, 'mesh.key')
  await writeFile(keyFile, h.meshKey.toString('base64') + '\n', { mode: 0o600 })
  const ctl = await writeIdentity(h.dir, 'controller')
  const a = await writeIdentity(h.dir, 'a')
  const b = await writeIdentity(h.dir, 'b')
  const stranger = await writeIdentity(h.dir, 'c')
  const allow = join(h.dir, 'relay-keys')
  await writeFile(allow, `# the relays of this mesh\na ${a.id.public.text}\nb ${b.id.public.text}\n`)
  const procs: ChildProcess[] = []
  const relay = async (id: string, identity: string, controllerKey: string): Promise<{ proc: ChildProcess, url: string, log: () => string }> => {
    const proc = spawn(process.execPath, [CLI, 'relay', '--id', id, '--listen', '127.0.0.1:0', '--controller', `${controller.control.host}:${controller.control.port}`,
      '--mesh-key-file', keyFile, '--identity', identity, '--controller-key', controllerKey, '--http', '127.0.0.1:0', '--ready-fd', String(READY_FD)], { stdio: READY_STDIO })
    procs.push(proc)
    let log = ''
    proc.stderr?.setEncoding('utf8').on('data', (d: string) => { log += d })
    const line = await readyLine(proc, `relay ${id}`, 20_000, () => log)
    return { proc, url: `http://127.0.0.1:${hostPortOf(line.http).port}`, log: () => log }
  }
  const controller = await startControllerProcess(h, 0, ['--identity', ctl.file, '--relay-keys', allow])
  try {
    // The pinned key as a file (the controller's .pub), and as the key line itself.
    const ra = await relay('a', a.file, ctl.pub)
    const rb = await relay('b', b.file, ctl.id.public.text)
    for (const r of [ra, rb]) await waitFor(async () => (await health(r.url)).ready, 60_000, `${r.url} to get a table`)
    const unlisted = await relay('c', stranger.file, ctl.pub)
    // b's own key, which the list holds, but pinning a key the controller does not have.
    const wrongPin = await relay('b', b.file, a.pub)
    await waitFor(() => /unknown relay key.*controller refused the control channel/.test(unlisted.log()), 30_000, 'the unlisted relay to be refused')
    await waitFor(() => /not the one pinned.*controller refused the control channel/.test(wrongPin.log()), 30_000, 'the relay to refuse an unpinned controller key')
    const relaysNow = async (): Promise<string[]> => {
      const t = await (await fetch(`${controller.http}/api/topology`)).json() as { relays: Array<{ id: string }> }
      return t.relays.map((r) => r.id).sort()
    }
    assert.deepEqual(await relaysNow(), ['a', 'b'])

    // a rotates its key: the list takes both (SIGHUP to the controller), then a switches (SIGHUP to
    // a, which re-reads its identity file), then the old key goes, below, with b.
    const a2 = Identity.generate()
    await writeFile(allow, `a ${a.id.public.text} ${a2.public.text}\nb ${b.id.public.text}\n`)
    controller.proc.kill('SIGHUP')
    await waitFor(() => /"relays":2,"revoked":\[\].*allow-list of relay keys reloaded/.test(controller.log()), 30_000, 'the controller to reload its list')
    await writeFile(a.file, a2.text + '\n', { mode: 0o600 })
    const switched = (ra.log().match(/connected to controller/g) ?? []).length
    ra.proc.kill('SIGHUP')
    await waitFor(() => /identity switched/.test(ra.log()) && (ra.log().match(/connected to controller/g) ?? []).length > switched, 30_000, 'a to reconnect on its new key')

    // Revocation: b comes off the list (and a's old key with it), and SIGHUP makes the controller re-read it.
    await writeFile(allow, `a ${a2.public.text}\n`)
    controller.proc.kill('SIGHUP')
    await waitFor(async () => (await relaysNow()).join() === 'a', 30_000, 'b to be forgotten')
    assert.ok((await health(ra.url)).ready, 'a, on its new key, stays')
    assert.doesNotMatch(ra.log(), /revoked/)
    await waitFor(() => /no longer on the allow-list \(revoked\).*controller refused|unknown relay key.*controller refused the control channel/.test(rb.log()), 30_000, 'b to be told')
    assert.ok(controller.proc.exitCode === null, 'the controller runs on')
  } finally {
    for (const p of [...procs, controller.proc]) p.kill('SIGTERM')
    await h.stop()
  }
})
