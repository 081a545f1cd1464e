import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { ConfigError } from '../../src/errors.js'
import { applyConfigFile } from '../../cli/config-file.js'
import { collect } from '../../cli/common.js'

/** A small command shaped like the daemons': a plain option, a default, a repeatable one and a switch. */
function command (): Command {
  return new Command('x')
    .exitOverride()
    .option('--config <file>', 'config')
    .option('--listen <host:port>', 'listen')
    .option('--mesh-key-file <file>', 'key')
    .option('--probe-interval <ms>', 'interval', '200')
    .option('--tunnel <spec>', 'tunnel', collect, [])
    .option('--emulate-links', 'switch')
}

async function file (name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'relaymesh-config-'))
  const path = join(dir, name)
  await writeFile(path, text)
  return path
}

/** Parses argv, then applies the config file the way the preAction hook does. */
async function run (argv: string[], config: string): Promise<Record<string, unknown>> {
  const cmd = command()
  cmd.parse(argv, { from: 'user' })
  await applyConfigFile(cmd, config)
  return cmd.opts()
}

test('a YAML file fills options by long flag name, lists become repeatable values, and switches take booleans', async () => {
  const path = await file('relay.yaml', 'listen: 127.0.0.1:7001\nmesh-key-file: mesh.key\nprobe-interval: 50\ntunnel:\n  - 127.0.0.1:0@b=127.0.0.1:9\n  - 127.0.0.1:0@c=127.0.0.1:9\nemulate-links: true\n')
  assert.deepEqual(await run([], path), {
    listen: '127.0.0.1:7001',
    meshKeyFile: 'mesh.key',
    probeInterval: '50',
    tunnel: ['127.0.0.1:0@b=127.0.0.1:9', '127.0.0.1:0@c=127.0.0.1:9'],
    emulateLinks: true
  })
})

test('flags given on the command line win over the file, and a default the file sets is replaced', async () => {
  const path = await file('relay.json', JSON.stringify({ listen: '127.0.0.1:7001', tunnel: 'from-file', 'probe-interval': 75 }))
  const opts = await run(['--listen', '127.0.0.1:7999', '--tunnel', 'from-flag'], path)
  assert.equal(opts.listen, '127.0.0.1:7999')
  assert.deepEqual(opts.tunnel, ['from-flag'])
  assert.equal(opts.probeInterval, '75', 'the file beats a default')
  assert.deepEqual((await run([], path)).tunnel, ['from-file'], 'one string becomes a one-item list')
})

test('camelCase keys are accepted too', async () => {
  const path = await file('relay.json', JSON.stringify({ meshKeyFile: 'k', emulateLinks: false }))
  const opts = await run([], path)
  assert.equal(opts.meshKeyFile, 'k')
  assert.equal(opts.emulateLinks, false)
})

test('an empty file changes nothing', async () => {
  const opts = await run(['--listen', '127.0.0.1:1'], await file('empty.yaml', ''))
  assert.equal(opts.listen, '127.0.0.1:1')
  assert.equal(opts.probeInterval, '200')
})

/** Rejects with a ConfigError whose one-line message matches `re`. */
async function refuses (text: string, name: string, re: RegExp): Promise<void> {
  const path = await file(name, text)
  await assert.rejects(run([], path), (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err))
    assert.equal(err.message.includes('\n'), false, 'one line')
    assert.match(err.message, re)
    return true
  })
}

test('bad files are refused with one line that names the file, the key and what it must be', async () => {
  await refuses('{"listen": ', 'bad.json', /--config '.*bad\.json' is not valid JSON/)
  await refuses('listen: [1, 2\n', 'bad.yaml', /--config '.*bad\.yaml' is not valid YAML/)
  await refuses('- 127.0.0.1:1\n', 'list.yaml', /must hold a mapping of flag names to values/)
  await refuses('"just a string"', 'scalar.json', /must hold a mapping/)
  await refuses(JSON.stringify({ lisen: 'x' }), 'typo.json', /unknown key 'lisen'; known keys are .*listen.*mesh-key-file/)
  await refuses(JSON.stringify({ config: 'other.yaml' }), 'nested.json', /unknown key 'config'/)
  await refuses(JSON.stringify({ 'emulate-links': 'yes' }), 'switch.json', /key 'emulate-links' must be true or false, got "yes"/)
  await refuses(JSON.stringify({ tunnel: [{ a: 1 }] }), 'list.json', /key 'tunnel' must be a string or a list of strings/)
  await refuses(JSON.stringify({ listen: { host: 'x' } }), 'object.json', /key 'listen' must be a string or a number, got \{"host":"x"\}/)
})

test('a file that cannot be read is refused with its error code', async () => {
  const cmd = command()
  cmd.parse([], { from: 'user' })
  await assert.rejects(applyConfigFile(cmd, join(tmpdir(), 'relaymesh-no-such-dir', 'x.yaml')), /--config '.*x\.yaml' cannot be read: ENOENT/)
})
