import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, open, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError } from '../../src/errors.js'
import { silentLogger } from '../../src/logging.js'
import { loadState, StateSaver, writeFileDurably, type SavedState } from '../../relay/state-file.js'
import { captureLogger } from '../helpers/capture-logger.js'
import { ManualClock } from '../helpers/manual-clock.js'

async function tempDir (): Promise<string> { return await mkdtemp(join(tmpdir(), 'relaymesh-state-')) }

const state: SavedState = {
  relay: 'a',
  tableVersion: 7,
  table: new Map([['c', { nextHop: 'b', backup: null }], ['d', { nextHop: 'b', backup: 'c' }]]),
  neighbours: [{ id: 'b', address: '127.0.0.1:7002' }]
}

test('state file: what the saver writes, loadState reads back', async () => {
  const dir = await tempDir()
  const path = join(dir, 'sub', 'a.state.json')
  const clock = new ManualClock()
  const saver = new StateSaver({ clock, logger: silentLogger() }, { path, snapshot: () => state })
  saver.changed()
  saver.changed()
  await saver.flush()
  assert.deepEqual(await loadState(path, 'a', silentLogger()), state)
  assert.equal((await stat(path)).mode & 0o777, 0o600, 'only the owner reads the routes')
  assert.deepEqual((await readdir(join(dir, 'sub'))).sort(), ['a.state.json'], 'no temp file is left')
})

test('state file: none is not an error', async () => {
  assert.equal(await loadState(join(await tempDir(), 'absent.json'), 'a', silentLogger()), undefined)
})

test('state file: a corrupt file is set aside with a warning, and the relay starts without it', async () => {
  for (const [name, text] of [['torn', '{"format":1,"relay":"a","tab'], ['wrong-shape', '{"format":1,"relay":"a"}'], ['empty', '']]) {
    const dir = await tempDir()
    const path = join(dir, 'a.state.json')
    await writeFile(path, text)
    const cap = captureLogger()
    const clock = new ManualClock()
    assert.equal(await loadState(path, 'a', cap.logger, clock.nowMs), undefined, name)
    assert.equal(existsSync(path), false, `${name}: moved out of the way`)
    const files = await readdir(dir)
    assert.equal(files.length, 1)
    assert.match(files[0] as string, /^a\.state\.json\.corrupt-\d{4}-\d\d-\d\dT\d{6}\.\d{3}Z$/)
    assert.equal(await readFile(join(dir, files[0] as string), 'utf8'), text, 'kept as it was, for a look')
    const w = cap.warnings()
    assert.equal(w.length, 1)
    assert.equal(w[0]?.path, path)
    assert.equal(w[0]?.movedTo, join(dir, files[0] as string))
  }
})

test('state file: another relay\'s file is a configuration error, and is left alone', async () => {
  const dir = await tempDir()
  const path = join(dir, 'b.state.json')
  const clock = new ManualClock()
  const saver = new StateSaver({ clock, logger: silentLogger() }, { path, snapshot: () => ({ ...state, relay: 'b' }) })
  saver.changed()
  await saver.flush()
  await assert.rejects(loadState(path, 'a', silentLogger()), (err) => err instanceof ConfigError && /belongs to relay 'b'/.test(err.message))
  assert.ok(existsSync(path))
})

test('state file: written to a temp file that is fsynced before the rename, and the directory fsynced after', async () => {
  const dir = await tempDir()
  const path = join(dir, 'a.state.json')
  const tmp = `${path}.tmp`
  // FileHandle is not exported: patch sync() on the prototype of a handle, and record what was
  // on disk at each call.
  const probe = await open(join(dir, 'probe'), 'w')
  const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> }
  await probe.close()
  const original = proto.sync
  const seen: Array<{ tmp: boolean, final: string | undefined }> = []
  proto.sync = async function (this: unknown) {
    seen.push({ tmp: existsSync(tmp), final: existsSync(path) ? await readFile(path, 'utf8') : undefined })
    return await original.call(this)
  }
  try {
    await writeFile(path, 'old\n')
    await writeFileDurably(path, 'new\n')
  } finally {
    proto.sync = original
  }
  assert.deepEqual(seen, [{ tmp: true, final: 'old\n' }, { tmp: false, final: 'new\n' }])
  assert.equal(await readFile(path, 'utf8'), 'new\n')
})

test('state file: a save that fails is logged, not thrown', async () => {
  const dir = await tempDir()
  await writeFile(join(dir, 'file'), 'x')
  const cap = captureLogger()
  const saver = new StateSaver({ clock: new ManualClock(), logger: cap.logger }, { path: join(dir, 'file', 'under-a-file.json'), snapshot: () => state })
  saver.changed()
  await saver.flush()
  assert.equal(cap.warnings().length, 1)
})
