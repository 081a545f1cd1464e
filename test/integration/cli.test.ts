import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseIdentity, parsePublicKey } from '../../src/identity.js'
import { runCli as cli, CLI, makeMeshDir, startRelay, waitFor } from '../helpers/relay-process.js'


test('--version prints the package version', async () => {
  const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
  const r = await cli('--version')
  assert.equal(r.code, 0)
  assert.equal(r.stdout.trim(), pkg.version)
})

/** The names in the "Commands:" section of a --help text, one per line ("relay [options]  …" → relay). */
function commandsIn (help: string): string[] {
  // The section runs to the first blank line; a long summary wraps onto lines indented further.
  const section = /\nCommands:\n((?: +\S.*\n)+)/.exec(help)
  assert.ok(section !== null, `no Commands: section in\n${help}`)
  return section[1].split('\n').filter((l) => /^ {2}\S/.test(l)).map((l) => l.trim().split(/\s/)[0])
}

/** The long flags in the "Options:" section of a --help text, as each option line starts. */
function flagsIn (help: string): string[] {
  return [...help.matchAll(/^ {2}(?:-\w, )?(--[a-z][a-z-]*)/gm)].map((m) => m[1])
}

test('--help lists every command, and each daemon\'s --help every flag it takes', async () => {
  const top = await cli('--help')
  assert.equal(top.code, 0)
  assert.deepEqual(commandsIn(top.stdout).sort(), ['controller', 'demo', 'help', 'impair', 'keygen', 'relay', 'sim', 'topology'])
  const expected: Record<string, string[]> = {
    relay: ['--id', '--listen', '--controller', '--controller-key', '--identity', '--static', '--mesh-key-file', '--http', '--tunnel', '--egress-allow', '--state-file', '--ready-fd', '--config', '--log-level'],
    controller: ['--control', '--http', '--mesh-key-file', '--identity', '--relay-keys', '--redis', '--ready-fd', '--config', '--log-level'],
    impair: ['--listen', '--to', '--loss', '--delay', '--jitter', '--rate', '--http', '--ready-fd', '--config', '--log-level']
  }
  for (const [cmd, want] of Object.entries(expected)) {
    const help = await cli(cmd, '--help')
    assert.equal(help.code, 0)
    assert.match(help.stdout, new RegExp(`^Usage: relaymesh ${cmd} `, 'm'))
    const flags = flagsIn(help.stdout)
    for (const flag of want) assert.ok(flags.includes(flag), `${cmd} --help lists ${flag} (it lists ${flags.join(' ')})`)
  }
})

test('--help into a reader that went away (| head) ends quietly, without a stack trace', async () => {
  const proc = spawn(process.execPath, [CLI, 'controller', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] })
  // Closed before the help text is written: the write meets EPIPE.
  proc.stdout.destroy()
  let stderr = ''
  proc.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const [code] = await once(proc, 'exit') as [number | null]
  assert.equal(stderr, '')
  assert.equal(code, 0)
})

test('a mistyped flag gets one line that names the fix', async () => {
  const r = await cli('relay', '--lisen', '127.0.0.1:1')
  assert.equal(r.code, 2)
  assert.equal(r.stderr.trim().split('\n').length, 1)
  assert.match(r.stderr, /unknown option '--lisen'.*Did you mean --listen\?/)
})

test('a bad value gets one line that names the value and the fix, without a stack trace', async () => {
  const mesh = await makeMeshDir(['a'], [])
  const r = await cli('relay', '--id', 'a', '--listen', 'localhost:7001', '--static', mesh.meshFile, '--mesh-key-file', mesh.keyFile)
  assert.equal(r.code, 2)
  assert.equal(r.stderr.trim().split('\n').length, 1)
  assert.match(r.stderr, /--listen 'localhost:7001'.*127\.0\.0\.1:7000/)
  const noKey = await cli('relay', '--id', 'a', '--listen', '127.0.0.1:1', '--static', mesh.meshFile, '--mesh-key-file', join(mesh.dir, 'missing.key'))
  assert.equal(noKey.code, 1)
  assert.match(noKey.stderr, /relaymesh keygen/)
  assert.equal(noKey.stderr.trim().split('\n').length, 1)
})

test('keygen writes one base64 line of 32 bytes and refuses to overwrite', async () => {
  const mesh = await makeMeshDir([], [])
  const file = join(mesh.dir, 'new.key')
  assert.equal((await cli('keygen', file)).code, 0)
  const text = await readFile(file, 'utf8')
  assert.match(text, /^[A-Za-z0-9+/]+=*\n$/)
  assert.equal(Buffer.from(text.trim(), 'base64').length, 32)
  const again = await cli('keygen', file)
  assert.equal(again.code, 1)
  assert.match(again.stderr, /already exists.*--force/)
})

test('keygen --identity writes a secret identity file and its public key, prints the key, and refuses to overwrite', async () => {
  const mesh = await makeMeshDir([], [])
  const file = join(mesh.dir, 'relay-a.id')
  const r = await cli('keygen', '--identity', file)
  assert.equal(r.code, 0, r.stderr)
  const pub = (await readFile(`${file}.pub`, 'utf8')).trim()
  assert.equal(r.stdout.trim(), pub)
  assert.ok(parsePublicKey(pub, 'pub').equals(parseIdentity(await readFile(file, 'utf8'), file).public))
  assert.equal((await stat(file)).mode & 0o777, 0o600)
  const again = await cli('keygen', '--identity', file)
  assert.equal(again.code, 1)
  assert.match(again.stderr, /already exists.*--force/)
})

test('identity flags that do not go together get one line naming the fix', async () => {
  const mesh = await makeMeshDir([], [])
  const id = join(mesh.dir, 'r.id')
  assert.equal((await cli('keygen', '--identity', id)).code, 0)
  const relay = await cli('relay', '--id', 'a', '--listen', '127.0.0.1:1', '--controller', '127.0.0.1:2', '--controller', '127.0.0.1:3',
    '--mesh-key-file', mesh.keyFile, '--identity', id, '--controller-key', `${id}.pub`)
  assert.equal(relay.code, 2)
  assert.equal(relay.stderr.trim().split('\n').length, 1)
  assert.match(relay.stderr, /one --controller-key per --controller.*2 --controller, 1 --controller-key/)
  const ctl = await cli('controller', '--control', '127.0.0.1:0', '--http', '127.0.0.1:0', '--mesh-key-file', mesh.keyFile, '--identity', id)
  assert.equal(ctl.code, 2)
  assert.match(ctl.stderr, /--identity and --relay-keys go together/)
  const staticMesh = await makeMeshDir(['a'], [])
  // A static relay on --identity takes the relays' keys from the file: one without keys is refused.
  const noKeys = await cli('relay', '--id', 'a', '--listen', '127.0.0.1:1', '--static', staticMesh.meshFile, '--mesh-key-file', mesh.keyFile, '--identity', id)
  assert.equal(noKeys.code, 2)
  assert.match(noKeys.stderr, /--identity with --static needs every relay's public key in the static mesh file/)
  const pinned = await cli('relay', '--id', 'a', '--listen', '127.0.0.1:1', '--static', staticMesh.meshFile, '--mesh-key-file', mesh.keyFile, '--identity', id, '--controller-key', `${id}.pub`)
  assert.equal(pinned.code, 2)
  assert.match(pinned.stderr, /a static relay \(--static\) has none/)
  const badKey = await cli('relay', '--id', 'a', '--listen', '127.0.0.1:1', '--controller', '127.0.0.1:2', '--mesh-key-file', mesh.keyFile,
    '--identity', id, '--controller-key', 'rmpub1:AAAA')
  assert.equal(badKey.code, 1)
  assert.match(badKey.stderr, /--controller-key #1: 'rmpub1:AAAA' is not a public key/)
})

test('--config supplies options, flags given on the command line win, and unknown keys are refused', async () => {
  const mesh = await makeMeshDir(['a'], [])
  const config = join(mesh.dir, 'relay.yaml')
  await writeFile(config, `id: a\nlisten: 127.0.0.1:1\nstatic: ${mesh.meshFile}\nmesh-key-file: ${mesh.keyFile}\n`)
  // The flag's --id wins over the file's: relay 'zz' is not in the mesh file, so start-up names it.
  const r = await cli('relay', '--config', config, '--id', 'zz')
  assert.equal(r.code, 2)
  assert.match(r.stderr, /relay id 'zz' is not in the static mesh file/)
  const bad = join(mesh.dir, 'bad.json')
  await writeFile(bad, JSON.stringify({ id: 'a', lisen: 'x' }))
  const r2 = await cli('relay', '--config', bad)
  assert.equal(r2.code, 2)
  assert.match(r2.stderr, /unknown key 'lisen'/)
})

test('a relay started from a config file runs and stops cleanly on SIGTERM', async () => {
  const mesh = await makeMeshDir(['a', 'b'], [['a', 'b']])
  const config = join(mesh.dir, 'relay.json')
  await writeFile(config, JSON.stringify({ tunnel: ['127.0.0.1:0@b=127.0.0.1:9'], 'egress-allow': ['127.0.0.0/8'] }))
  const relay = await startRelay(mesh, 'a', ['--config', config])
  // The ready line can arrive before the start-up log line is flushed to stderr.
  await waitFor(() => /"spec":"127\.0\.0\.1:0@b=127\.0\.0\.1:9"/.test(relay.stderr()), 30_000, 'the tunnel from the config file in the start-up log')
  const health = await (await fetch(`${relay.httpUrl}/healthz`)).json()
  assert.deepEqual(health, { role: 'relay', ready: true })
  assert.equal(await relay.stop(), 0)
  assert.match(relay.stderr(), /relay stopped/)
})
