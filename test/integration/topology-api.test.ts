import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { request, type IncomingHttpHeaders, type Server } from 'node:http'
import type { Worker } from 'node:worker_threads'
import { gunzipSync } from 'node:zlib'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { startControllerHttp } from '../../controller/http-api.js'
import { TopologyCache, type TopologyCacheInit } from '../../controller/topology-cache.js'
import { closeHttp } from '../../src/http.js'
import type { MeshGraph } from '../../topology/mesh-graph.js'
import { PHASE_STOP, publishJob } from '../../topology/row-claims.js'
import { RouteThreads } from '../../topology/route-threads.js'
import { snapshotOf } from '../../topology/snapshot.js'
import { topologyJson } from '../../topology/topology-json.js'
import { ManualClock } from '../helpers/manual-clock.js'
import { fiveRelays } from '../helpers/topology-fixture.js'

interface Api {
  url: string
  mesh: { graph: MeshGraph, version: number }
  clock: ManualClock
  builds: Array<{ version: number, routes: boolean, thread: boolean }>
}

const servers: Server[] = []
after(async () => { for (const s of servers) await closeHttp(s) })

/** The controller's HTTP API over a TopologyCache, as Controller wires it, on a fixture graph. */
async function serve (offload: TopologyCacheInit['offload'], more: Partial<TopologyCacheInit> = {}): Promise<Api> {
  const mesh = { graph: fiveRelays(), version: 7 }
  const clock = new ManualClock()
  const builds: Api['builds'] = []
  const cache = new TopologyCache({
    clock,
    graph: () => mesh.graph,
    version: () => mesh.version,
    offload,
    onBuild: (b) => { builds.push({ version: b.version, routes: b.routes, thread: b.thread }) },
    ...more
  })
  const { server, bound } = await startControllerHttp({ host: '127.0.0.1', port: 0, family: 4 }, {
    topology: async (opts) => await cache.bodies(opts),
    role: () => 'leader',
    registry: new Registry(),
    log: pino({ level: 'silent' })
  })
  servers.push(server)
  return { url: `http://127.0.0.1:${bound.port}/api/topology`, mesh, clock, builds }
}

async function get (url: string): Promise<string> {
  const r = await fetch(url)
  assert.equal(r.status, 200)
  assert.equal(r.headers.get('cache-control'), 'no-store')
  return await r.text()
}

for (const offload of ['main', 'thread'] as const) {
  test(`GET /api/topology builds one body per table version and serves it to every request at that version (${offload})`, { timeout: 60_000 }, async () => {
    const api = await serve(offload)
    // Concurrent requests while the body is being built share that build.
    const first = await Promise.all(Array.from({ length: 8 }, async () => await get(api.url)))
    const again = await get(api.url)
    assert.equal(api.builds.length, 1)
    assert.equal(api.builds[0].thread, offload === 'thread' && RouteThreads.shared() !== undefined)
    for (const b of [...first, again]) assert.equal(b, JSON.stringify(snapshotOf(api.mesh.graph, 7)))

    // ?routes=false is a body of its own, cached the same way.
    const bare = await get(`${api.url}?routes=false`)
    await get(`${api.url}?routes=0`)
    assert.equal(bare, JSON.stringify(snapshotOf(api.mesh.graph, 7, { routes: false })))
    assert.equal(api.builds.length, 2)

    // A new version is never answered with the old body, even well within the body's age.
    api.mesh.graph.updateLink('a', 'b', { rttMs: 100, jitterMs: 0, loss: 0, up: true })
    api.mesh.version = 8
    const next = await get(api.url)
    assert.equal(api.builds.length, 3)
    assert.equal(JSON.parse(next).version, 8)
    assert.equal(next, JSON.stringify(snapshotOf(api.mesh.graph, 8)))
    assert.notEqual(next, again)
    await get(api.url)
    assert.equal(api.builds.length, 3)
  })
}

test('within one version, moved figures are served once the body is older than its age, and an unchanged graph is never rebuilt', { timeout: 60_000 }, async () => {
  const api = await serve('main')
  const v7 = await get(api.url)
  api.mesh.graph.updateLink('a', 'b', { rttMs: 12, jitterMs: 0, loss: 0, up: true })
  api.clock.advance(999)
  assert.equal(await get(api.url), v7, 'younger than its age: served on')
  assert.equal(api.builds.length, 1)

  api.clock.advance(1)
  // The first request past the age starts a refresh and is answered with the body it has.
  assert.equal(await get(api.url), v7)
  assert.equal(api.builds.length, 2)
  let fresh = v7
  while (fresh === v7) fresh = await get(api.url)
  assert.equal(fresh, JSON.stringify(snapshotOf(api.mesh.graph, 7)))
  assert.equal(JSON.parse(fresh).links[0].rtt_ms, 12)

  api.clock.advance(60_000)
  assert.equal(await get(api.url), fresh, 'nothing changed since: the same body however old')
  assert.equal(api.builds.length, 2)
})

test('a body that fails to build answers 500, and the next request builds it again', async () => {
  const api = await serve('main')
  const good = api.mesh.graph
  // A graph whose copy throws, as a bug in it would.
  api.mesh.graph = Object.create(good, { routes: { value: () => { throw new Error('boom') } } }) as MeshGraph
  const r = await fetch(api.url)
  assert.equal(r.status, 500)
  api.mesh.graph = good
  assert.equal(await get(api.url), JSON.stringify(snapshotOf(good, 7)))
  assert.equal(api.builds.length, 1, 'the failed build threw before it started')
})

test('once the version moves, a request waits for the new body up to its wait, then gets the last body, labelled with its own version', { timeout: 60_000 }, async () => {
  let release: (() => void) | undefined
  let started: (() => void) | undefined
  const second = new Promise<void>((resolve) => { started = resolve })
  let calls = 0
  const api = await serve('main', {
    waitMs: 50,
    serialize: async (input) => {
      if (++calls === 1) return topologyJson(input)
      started?.()
      await new Promise<void>((resolve) => { release = resolve })
      return topologyJson(input)
    }
  })
  const v7 = await get(api.url)
  api.mesh.version = 8
  const early = get(api.url)
  await second
  api.clock.advance(50)
  assert.equal(await early, v7)
  assert.equal(api.builds.length, 2)
  release?.()
  let next = v7
  while (next === v7) next = await get(api.url)
  assert.equal(JSON.parse(next).version, 8)
  assert.equal(next, JSON.stringify(snapshotOf(api.mesh.graph, 8)))
  assert.equal(api.builds.length, 2)
})

/** A GET by node:http, which sends no Accept-Encoding unless asked: the raw bytes and headers. */
async function raw (url: string, headers: Record<string, string> = {}): Promise<{ body: Buffer, headers: IncomingHttpHeaders }> {
  return await new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => { chunks.push(c) })
      res.on('end', () => {
        assert.equal(res.statusCode, 200)
        resolve({ body: Buffer.concat(chunks), headers: res.headers })
      })
      res.on('error', reject)
    }).on('error', reject).end()
  })
}

for (const offload of ['main', 'thread'] as const) {
  test(`a client that takes gzip is sent the body gzip'd, built once with it, and it decompresses to exactly the JSON body (${offload})`, { timeout: 60_000 }, async () => {
    const api = await serve(offload)
    const plain = await raw(api.url)
    assert.equal(plain.headers['content-encoding'], undefined)
    assert.equal(plain.headers.vary, 'Accept-Encoding')
    assert.equal(plain.body.toString(), JSON.stringify(snapshotOf(api.mesh.graph, 7)))
    for (const ae of ['gzip', 'gzip, deflate, br', 'br;q=1.0, GZIP;q=0.5', '*']) {
      const gz = await raw(api.url, { 'accept-encoding': ae })
      assert.equal(gz.headers['content-encoding'], 'gzip', ae)
      assert.equal(gz.headers.vary, 'Accept-Encoding')
      assert.equal(Number(gz.headers['content-length']), gz.body.length)
      assert.ok(gz.body.length < plain.body.length)
      assert.deepEqual(gunzipSync(gz.body), plain.body)
    }
    for (const ae of ['gzip;q=0', 'deflate', 'identity']) {
      assert.equal((await raw(api.url, { 'accept-encoding': ae })).headers['content-encoding'], undefined, ae)
    }
    assert.equal(api.builds.length, 1, 'both encodings come from one build')
    assert.equal(api.builds[0].thread, offload === 'thread' && RouteThreads.shared() !== undefined)
    const bare = await raw(`${api.url}?routes=false`, { 'accept-encoding': 'gzip' })
    assert.equal(gunzipSync(bare.body).toString(), JSON.stringify(snapshotOf(api.mesh.graph, 7, { routes: false })))
    assert.equal(api.builds.length, 2)
  })
}

// Last in this file: it ends the process's helper thread.
test('a route helper thread that died leaves bodies to the event loop, and they are served as before', { timeout: 60_000 }, async () => {
  const threads = RouteThreads.shared()
  assert.ok(threads !== undefined, 'worker threads start here')
  // As a crash would: the thread leaves its loop and exits without stop().
  const { worker, control } = threads as unknown as { worker: Worker, control: Int32Array }
  const exited = once(worker, 'exit')
  publishJob(control, 0, PHASE_STOP)
  await exited
  assert.equal(threads.usable, false)
  const api = await serve('thread')
  assert.equal(await get(api.url), JSON.stringify(snapshotOf(api.mesh.graph, 7)))
  assert.deepEqual(gunzipSync((await raw(api.url, { 'accept-encoding': 'gzip' })).body), (await raw(api.url)).body)
  assert.deepEqual(api.builds.map((b) => b.thread), [false])
})
