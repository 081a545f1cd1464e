/**
 * Builds the native addon (native/aead.c, binding.gyp: the payload AEAD and the link tag) with
 * the node-gyp that npm carries, against this Node's own headers (--nodedir: no download). Run by
 * `npm run build` and `prepare`.
 *
 * Without a C toolchain the build fails, a one-line warning says so, and relays seal payloads with
 * node:crypto and tag packets in JavaScript instead (src/wire/native.ts): slower, the same bytes.
 * RELAYMESH_REQUIRE_NATIVE=1 (CI) makes a failed build an error.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const required = process.env.RELAYMESH_REQUIRE_NATIVE === '1'

function nodeGyp () {
  // npm runs this script with npm_execpath set to its own CLI; node-gyp ships beside it.
  const candidates = []
  if (process.env.npm_execpath !== undefined) candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'))
  candidates.push(join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'))
  return candidates.find((p) => existsSync(p))
}

function headersDir () {
  // Node's headers as the distribution installs them (/usr/include/node), else node-gyp's cache.
  const prefix = join(dirname(process.execPath), '..')
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined
}

function fail (why) {
  const msg = `relaymesh: native addon not built (${why}); relays seal payloads with node:crypto and tag packets in JavaScript, about 10 us slower per packet`
  if (required) {
    process.stderr.write(`${msg}\nRELAYMESH_REQUIRE_NATIVE=1: install gcc, g++, make and python3, then run npm run build\n`)
    process.exit(1)
  }
  process.stderr.write(`${msg}\n`)
  process.exit(0)
}

const gyp = nodeGyp()
if (gyp === undefined) fail('node-gyp not found beside npm')
const nodedir = headersDir()
if (nodedir === undefined) fail(`Node's headers not found under ${join(dirname(process.execPath), '..', 'include', 'node')}`)
const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, '--loglevel=error'], { cwd: root, encoding: 'utf8' })
if (r.status !== 0) {
  const last = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').filter((l) => l.trim() !== '').slice(-1)[0] ?? `exit ${String(r.status)}`
  fail(`node-gyp: ${last}`)
}
