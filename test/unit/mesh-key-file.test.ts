import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmod, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readMeshKeyFile, writeMeshKeyFile } from '../../src/mesh-key.js'
import { captureLogger } from '../helpers/capture-logger.js'

test('a key file that group or others can read gets a warning naming it and chmod 600', async () => {
  const path = join(await mkdtemp(join(tmpdir(), 'relaymesh-key-')), 'mesh.key')
  await writeMeshKeyFile(path)
  for (const [mode, warned] of [[0o600, false], [0o400, false], [0o640, true], [0o604, true], [0o620, true]] as const) {
    await chmod(path, mode)
    const cap = captureLogger()
    const key = await readMeshKeyFile(path, cap.logger)
    assert.equal(key.length, 32)
    const w = cap.warnings()
    assert.equal(w.length, warned ? 1 : 0, `mode ${mode.toString(8)}`)
    if (warned) {
      assert.equal(w[0]?.path, path)
      assert.ok(w[0]?.msg.includes(`chmod 600 ${path}`), w[0]?.msg)
    }
  }
})
