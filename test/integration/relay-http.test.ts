import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { systemClock } from '../../src/clock.js'
import { ConfigError } from '../../src/errors.js'
import { createLogger } from '../../src/logging.js'
import type { HostPort } from '../../src/transport/address.js'
import { LinkEmulator } from '../../relay/link-emulator.js'
import { Relay } from '../../relay/relay.js'
import { validateStaticMesh } from '../../relay/static-mesh.js'
import { requestWithHost } from '../helpers/raw-http.js'
import { CLI, dropCount, freeUdpPort, parseMetrics, makeMeshDir, udpSink, waitFor } from '../helpers/relay-process.js'

/**
 * The relay's HTTP endpoint with --emulate-links: loopback only, a bearer token, JSON only,
 * neighbours only, and delay lines capped in bytes.
 */

const log = createLogger({ level: 'silent', pretty: false })
const TOKEN = randomBytes(32).toString('base64url')
const relays: Relay[] = []
after(async () => { for (const r of relays) await r.stop() })

/** Relay a in static mode with one neighbour b (a plain UDP socket), serving emulation on loopback. */
async function relayWithEmulation (opts: { http?: HostPort, maxQueueBytes?: number } = {}): Promise<{ relay: Relay, emulator: LinkEmulator, url: string, b: HostPort, stranger: HostPort }> {
  const sink = await udpSink()
  const aPort = await freeUdpPort()
  const staticMesh = validateStaticMesh({
    relays: [{ id: 'a', address: `127.0.0.1:${aPort}` }, { id: 'b', address: `127.0.0.1:${sink.port}` }, { id: 'c', address: '127.0.0.1:9' }],
    links: [['a', 'b']]
  })
  const emulator = new LinkEmulator({ maxQueueBytes: opts.maxQueueBytes })
  const relay = new Relay({ clock: systemClock, logger: log }, {
    id: 'a',
    listen: { host: '127.0.0.1', port: aPort, family: 4 },
    meshKey: randomBytes(32),
    staticMesh,
    http: opts.http ?? { host: '127.0.0.1', port: 0, family: 4 },
    linkEmulator: emulator,
    emulationToken: TOKEN,
    probe: { intervalMs: 20, fastIntervalMs: 20 }
  })
  relays.push(relay)
  after(() => { sink.socket.close() })
  await relay.start()
  const h = relay.httpAddress as HostPort
  return { relay, emulator, url: `http://127.0.0.1:${h.port}`, b: { host: '127.0.0.1', port: sink.port, family: 4 }, stranger: { host: '127.0.0.1', port: 9, family: 4 } }
}

async function post (url: string, body: unknown, headers: Record<string, string>): Promise<{ status: number, body: Record<string, unknown> }> {
  const res = await fetch(`${url}/emulation/links`, { method: 'POST', headers, body: JSON.stringify(body) })
  return { status: res.status, body: await res.json() as Record<string, unknown> }
}

const json = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }

test('POST /emulation/links needs the bearer token: none or a wrong one is 401', async () => {
  const { url, b } = await relayWithEmulation()
  const to = `127.0.0.1:${b.port}`
  const none = await post(url, { to, loss: 0.5 }, { 'content-type': 'application/json' })
  assert.equal(none.status, 401)
  assert.match(String(none.body.error), /Bearer/)
  const wrong = await post(url, { to, loss: 0.5 }, { 'content-type': 'application/json', authorization: `Bearer ${TOKEN.slice(0, -1)}x` })
  assert.equal(wrong.status, 401)
  const basic = await post(url, { to, loss: 0.5 }, { 'content-type': 'application/json', authorization: `Basic ${TOKEN}` })
  assert.equal(basic.status, 401)
  const ok = await post(url, { to, loss: 0.5 }, json)
  assert.equal(ok.status, 200)
  assert.deepEqual(ok.body, { to, loss: 0.5 })
})

test('POST /emulation/links takes only application/json: a form or text/plain body is 415', async () => {
  const { url, b } = await relayWithEmulation()
  const to = `127.0.0.1:${b.port}`
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', '']) {
    const r = await post(url, { to, outage: true }, { 'content-type': type, authorization: `Bearer ${TOKEN}` })
    assert.equal(r.status, 415, type)
  }
  const charset = await post(url, { to, outage: true }, { ...json, 'content-type': 'application/json; charset=utf-8' })
  assert.equal(charset.status, 200)
})

test('POST /emulation/links takes only a current neighbour\'s address: another relay is 404, a bad one 400', async () => {
  const { url, b, stranger, emulator } = await relayWithEmulation()
  const notNeighbour = await post(url, { to: `127.0.0.1:${stranger.port}`, outage: true }, json)
  assert.equal(notNeighbour.status, 404)
  assert.match(String(notNeighbour.body.error), /127\.0\.0\.1:9 is not the address of a current neighbour/)
  assert.equal(emulator.stats(stranger.host, stranger.port), undefined, 'no line made for it')
  const bad = await post(url, { to: 'example.com:80', outage: true }, json)
  assert.equal(bad.status, 400)
  const badParam = await post(url, { to: `127.0.0.1:${b.port}`, loss: 2 }, json)
  assert.equal(badParam.status, 400)
  assert.equal((await post(url, { to: `127.0.0.1:${b.port}`, outage: true }, json)).status, 200)
  assert.ok(emulator.stats(b.host, b.port) !== undefined)
})

test('link emulation on a non-loopback --http is a one-line config error naming the address', async () => {
  const emulator = new LinkEmulator()
  assert.throws(() => new Relay({ clock: systemClock, logger: log }, {
    id: 'a',
    listen: { host: '127.0.0.1', port: 0, family: 4 },
    meshKey: randomBytes(32),
    staticMesh: validateStaticMesh({ relays: [{ id: 'a', address: '127.0.0.1:7001' }], links: [] }),
    http: { host: '0.0.0.0', port: 0, family: 4 },
    linkEmulator: emulator,
    emulationToken: TOKEN
  }), (err: unknown) => err instanceof ConfigError && /--http is 0\.0\.0\.0:0; use --http 127\.0\.0\.1:PORT/.test(err.message))
})

/** Runs the CLI, killed after 30 s: a relay that wrongly accepts its flags would run forever. */
async function cliWithin (...args: string[]): Promise<{ code: number | string, stderr: string }> {
  try {
    const { stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { timeout: 30_000, killSignal: 'SIGKILL' })
    return { code: 0, stderr }
  } catch (err) {
    const e = err as { code: number, signal?: string, stderr: string }
    return { code: e.signal ?? e.code, stderr: e.stderr }
  }
}

test('relaymesh relay --emulate-links refuses a wildcard --http and a missing or short token file', async () => {
  const runCli = cliWithin
  const mesh = await makeMeshDir(['a'], [])
  const base = ['relay', '--id', 'a', '--listen', '127.0.0.1:0', '--static', mesh.meshFile, '--mesh-key-file', mesh.keyFile, '--emulate-links']
  const tokenFile = join(mesh.dir, 'emulation.token')
  await writeFile(tokenFile, TOKEN + '\n')
  const wild = await runCli(...base, '--http', '0.0.0.0:0', '--emulate-links-token-file', tokenFile)
  assert.equal(wild.code, 2)
  assert.equal(wild.stderr.trim().split('\n').length, 1)
  assert.match(wild.stderr, /--http is 0\.0\.0\.0:0; use --http 127\.0\.0\.1:PORT/)
  const noToken = await runCli(...base, '--http', '127.0.0.1:0')
  assert.equal(noToken.code, 2)
  assert.match(noToken.stderr, /--emulate-links needs --emulate-links-token-file FILE/)
  const short = join(mesh.dir, 'short.token')
  await writeFile(short, 'abc\n')
  const weak = await runCli(...base, '--http', '127.0.0.1:0', '--emulate-links-token-file', short)
  assert.equal(weak.code, 2)
  assert.match(weak.stderr, /short\.token' must hold one token of at least 16/)
})

test('a 60 s emulated delay holds at most maxQueueBytes; the excess is dropped as queue_full', async () => {
  const { url, b, emulator } = await relayWithEmulation({ maxQueueBytes: 1000 })
  // Probes to b, every 20 ms, now wait 60 s each: the line fills in about a second.
  assert.equal((await post(url, { to: `127.0.0.1:${b.port}`, delayMs: 60_000 }, json)).status, 200)
  let drops = 0
  await waitFor(async () => {
    drops = dropCount(parseMetrics(await (await fetch(`${url}/metrics`)).text()), 'queue_full')
    return drops >= 5
  }, 20_000, 'queue_full drops')
  assert.ok(emulator.queued.bytes <= 1000, `queued ${emulator.queued.bytes} bytes`)
  assert.ok(emulator.queued.bytes > 0)
  assert.ok((emulator.stats(b.host, b.port)?.dropped.queue ?? 0) >= drops, 'the line counts them too')
})

test('the relay\'s HTTP server refuses a Host that is not its bound address (DNS rebinding)', async () => {
  const { relay } = await relayWithEmulation()
  const port = (relay.httpAddress as HostPort).port
  const evil = await requestWithHost(port, '/healthz', `attacker.example:${port}`)
  assert.equal(evil.status, 421)
  assert.match((JSON.parse(evil.body) as { error: string }).error, /Host 'attacker\.example:\d+' is not this server's address.*use http:\/\/127\.0\.0\.1:\d+\//)
  assert.equal((await requestWithHost(port, '/metrics', `127.0.0.1:${port + 1}`)).status, 421)
  assert.equal((await requestWithHost(port, '/healthz', `127.0.0.1:${port}`)).status, 200)
  assert.equal((await requestWithHost(port, '/healthz', `localhost:${port}`)).status, 200)
})
