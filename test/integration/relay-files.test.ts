import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CLI, freeUdpPort, makeMeshDir } from '../helpers/relay-process.js'

test('a relay starts with a corrupt state file (set aside, with a warning) and warns of a key file others can read', async () => {
  const mesh = await makeMeshDir(['a'], [])
  await chmod(mesh.keyFile, 0o644)
  const stateFile = join(mesh.dir, 'a.state.json')
  await writeFile(stateFile, '{"format":1,"relay":"a","table_vers')
  // No controller answers there: the relay starts anyway and keeps retrying.
  const controller = await freeUdpPort()
  const proc = spawn(process.execPath, [CLI, 'relay', '--id', 'a', '--listen', `127.0.0.1:${mesh.ports.get('a') as number}`,
    '--controller', `127.0.0.1:${controller}`, '--mesh-key-file', mesh.keyFile, '--state-file', stateFile], { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  proc.stderr.setEncoding('utf8')
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`relay did not start: ${log}`)) }, 20_000)
      proc.stderr.on('data', (d: string) => {
        log += d
        if (log.includes('"relay started"')) { clearTimeout(timer); resolve() }
      })
      proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`relay exited with ${String(code)}: ${log}`)) })
    })
    assert.match(log, /state file is corrupt: set aside/)
    assert.ok(log.includes(`chmod 600 ${mesh.keyFile}`), log)
    assert.equal(existsSync(stateFile), false)
    assert.equal((await readdir(mesh.dir)).filter((f) => f.startsWith('a.state.json.corrupt-')).length, 1)
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) {
      const done = new Promise<void>((resolve) => { proc.once('exit', () => { resolve() }) })
      proc.kill('SIGTERM')
      await done
    }
  }
})
