import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, writeFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { Gauge, Registry } from 'prom-client'
import { startControllerHttp } from '../../controller/http-api.js'
import { closeHttp } from '../../src/http.js'
import { snapshotOf, type TopologySnapshot } from '../../topology/snapshot.js'
import { runCli as cli, freeTcpPort } from '../helpers/relay-process.js'
import { fiveRelays } from '../helpers/topology-fixture.js'


const graph = fiveRelays()
/** What the API was asked for, so tests can see ?routes=false reach the controller. */
const asked: boolean[] = []
let failNext = false
const logLines: string[] = []
let server: Server
let url: string

before(async () => {
  const registry = new Registry()
  new Gauge({ name: 'relaymesh_controller_relays', help: 'test', registers: [registry] }).set(5)
  const log = pino({ level: 'info' }, new Writable({ write (chunk: Buffer, _enc, done) { logLines.push(chunk.toString()); done() } }))
  const started = await startControllerHttp({ host: '127.0.0.1', port: 0, family: 4 }, {
    topology: async (opts) => {
      asked.push(opts.routes)
      if (failNext) { failNext = false; throw new Error('graph is being rebuilt') }
      return Buffer.from(JSON.stringify(snapshotOf(graph, 42, opts)))
    },
    role: () => 'leader',
    registry,
    log
  })
  server = started.server
  url = `http://127.0.0.1:${started.bound.port}`
})

after(async () => { await closeHttp(server) })

test('topology routes --json prints the controller\'s routes as one JSON document', async () => {
  const r = await cli('topology', 'routes', '--controller-http', url, '--json')
  assert.equal(r.code, 0, r.stderr)
  const expected = JSON.parse(JSON.stringify(snapshotOf(graph, 42).routes)) as TopologySnapshot['routes']
  assert.deepEqual(JSON.parse(r.stdout), expected)
  assert.equal(asked.at(-1), true)
})

test('topology relays prints a table and asks the controller to leave routes out', async () => {
  const host = url.replace('http://', '')
  const r = await cli('topology', 'relays', '--controller-http', host)
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /│ e +│ 127\.0\.0\.1:7005 +│ down +│/)
  assert.equal(asked.at(-1), false)
})

test('topology path --dot draws the path bold, and --config can name the controller', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'relaymesh-topology-'))
  const config = join(dir, 'topology.yaml')
  await writeFile(config, `controller-http: ${url}\ndot: true\n`)
  const r = await cli('topology', 'path', 'a', 'd', '--config', config)
  assert.equal(r.code, 0, r.stderr)
  assert.ok(r.stdout.startsWith('digraph relaymesh {'))
  assert.equal(r.stdout.split('\n').filter((l) => l.includes('style=bold')).length, 3)
})

test('an unknown relay id exits 2 with one line naming it', async () => {
  const r = await cli('topology', 'path', 'a', 'zz', '--controller-http', url)
  assert.equal(r.code, 2)
  assert.equal(r.stdout, '')
  assert.equal(r.stderr, "relaymesh: error: relay 'zz' is not in the topology; `relaymesh topology relays` lists them\n")
})

test('an unreachable controller exits non-zero with one line naming the URL and --controller-http', async () => {
  const dead = `http://127.0.0.1:${await freeTcpPort()}`
  const r = await cli('topology', 'links', '--controller-http', dead)
  assert.notEqual(r.code, 0)
  assert.equal(r.stdout, '')
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
  assert.ok(r.stderr.includes(`${dead}/api/topology`), r.stderr)
  assert.match(r.stderr, /ECONNREFUSED.*--controller-http/)
})

test('bad usage exits 2 with one line: a non-http URL, a missing DST, --json with --dot', async () => {
  for (const args of [
    ['links', '--controller-http', 'ftp://127.0.0.1:1'],
    ['path', 'a', '--controller-http', url],
    ['links', '--json', '--dot', '--controller-http', url]
  ]) {
    const r = await cli('topology', ...args)
    assert.equal(r.code, 2, args.join(' '))
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
  }
})

test('the API answers /healthz with the role, /metrics in Prometheus text, and no-store topology', async () => {
  assert.deepEqual(await (await fetch(`${url}/healthz`)).json(), { role: 'leader', ready: true })
  const metrics = await fetch(`${url}/metrics`)
  assert.equal(metrics.status, 200)
  assert.match(await metrics.text(), /^relaymesh_controller_relays 5$/m)
  const topo = await fetch(`${url}/api/topology?routes=false`)
  assert.equal(topo.headers.get('content-type'), 'application/json')
  assert.equal(topo.headers.get('cache-control'), 'no-store')
  assert.deepEqual(((await topo.json()) as TopologySnapshot).routes, {})
})

test('the API refuses writes with 405, bad parameters with 400, and unknown paths with 404', async () => {
  const post = await fetch(`${url}/api/topology`, { method: 'POST', body: '{}' })
  assert.equal(post.status, 405)
  assert.equal(post.headers.get('allow'), 'GET, HEAD')
  assert.equal((await fetch(`${url}/api/topology?routes=maybe`)).status, 400)
  const root = await fetch(`${url}/`)
  assert.equal(root.status, 404, 'no page configured')
  assert.deepEqual(((await root.json()) as { paths: string[] }).paths, ['/api/topology', '/healthz', '/metrics'])
})

test('a failing snapshot answers 500 with a JSON error, is logged, and the server keeps serving', async () => {
  failNext = true
  const r = await fetch(`${url}/api/topology`)
  assert.equal(r.status, 500)
  assert.match(((await r.json()) as { error: string }).error, /controller log/)
  assert.ok(logLines.some((l) => l.includes('graph is being rebuilt')), 'reason logged')
  assert.equal((await fetch(`${url}/api/topology`)).status, 200)
})

test('GET / serves the page when one is given', async () => {
  const { server: s, bound } = await startControllerHttp({ host: '127.0.0.1', port: 0, family: 4 }, {
    topology: async (opts) => Buffer.from(JSON.stringify(snapshotOf(graph, 1, opts))),
    role: () => 'standby',
    registry: new Registry(),
    log: pino({ level: 'silent' }),
    page: () => '<!doctype html><title>map</title>'
  })
  try {
    const r = await fetch(`http://127.0.0.1:${bound.port}/`)
    assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8')
    assert.equal(await r.text(), '<!doctype html><title>map</title>')
    assert.deepEqual(await (await fetch(`http://127.0.0.1:${bound.port}/healthz`)).json(), { role: 'standby', ready: true })
  } finally {
    await closeHttp(s)
  }
})
