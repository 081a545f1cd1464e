/**
 * bench:topology-api: GET /api/topology on a 1,000-relay mesh, polled 10 times a second, and what
 * that costs the controller's event loop (perf_hooks.monitorEventLoopDelay, default 10 ms
 * resolution, so an idle loop reads about 10 ms).
 *
 * The controller side runs in this process: the real HTTP API (controller/http-api.ts) over the
 * real topology cache (controller/topology-cache.ts), wired as Controller wires it, on a MeshGraph
 * of 1,000 relays with neighbours chosen by the real selection (k-nearest plus random, about 17
 * links a relay). A control loop stands in for the relays: it feeds every relay's link report
 * into the graph once a second (MeshGraph.updateLink, as Controller.onReport does, with figures
 * that wander under the cost hysteresis; --move-rate F makes that share of reports move a cost
 * beyond it, so routes are recomputed incrementally on the event loop, a cost of the controller
 * that is the same with or without the API) and moves to a new table version
 * every --version-every-ms, as a rollout does. Route computations and rollouts themselves are left
 * out: they cost the same with or without the API.
 *
 * The client polls from a child process, so its own work is not on the measured event loop. It
 * sends a request every 1/--hz s (at most 4 in flight) and times each to its last byte. It sends
 * Accept-Encoding: gzip, as browsers and curl --compressed do, and times the gzip'd body to its
 * last byte received (decompressing only the head, for the version); the *_identity runs send
 * none and get the JSON as is.
 *
 * Figures, measured in the same run: the event-loop delay with the control loop alone (idle); with
 * polling of the cached API (cached); and, as the baseline, the uncached code path this replaced
 * (the snapshot built as objects and JSON.stringify'd per request), polled one request at a time.
 *
 * Prints one JSON line. Flags: --relays N (1000), --seconds S (20), --hz N (10),
 * --version-every-ms MS (5000), --uncached-requests N (4; 0 skips the baseline), --move-rate F (0).
 * body_bytes is what the gzip client received per request; cached_identity.body_bytes the JSON.
 */
import { spawn } from 'node:child_process'
import { request, Agent } from 'node:http'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createGunzip } from 'node:zlib'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { startControllerHttp } from '../../controller/http-api.js'
import { TopologyCache } from '../../controller/topology-cache.js'
import { systemClock } from '../../src/clock.js'
import { closeHttp } from '../../src/http.js'
import { Prng } from '../../src/prng.js'
import { MeshGraph } from '../../topology/mesh-graph.js'
import { measuredFromPairs, selectNeighbours } from '../../topology/neighbours.js'
import { RouteThreads } from '../../topology/route-threads.js'
import { snapshotOf } from '../../topology/snapshot.js'

const { values } = parseArgs({
  options: {
    relays: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '20' },
    hz: { type: 'string', default: '10' },
    'version-every-ms': { type: 'string', default: '5000' },
    'uncached-requests': { type: 'string', default: '4' },
    client: { type: 'string' },
    'max-in-flight': { type: 'string', default: '4' },
    count: { type: 'string' },
    'move-rate': { type: 'string', default: '0' },
    encoding: { type: 'string', default: 'gzip' }
  }
})

interface Poll { ms: number[], versions: number[], bytes: number, skipped: number, errors: number }

/** The child: polls `url` open-loop and prints its figures as JSON. */
async function client (url: string, hz: number, seconds: number, maxInFlight: number, count: number | undefined, encoding: string): Promise<void> {
  const headers = encoding === 'gzip' ? { 'accept-encoding': 'gzip' } : {}
  const agent = new Agent({ keepAlive: true, maxSockets: maxInFlight })
  const out: Poll = { ms: [], versions: [], bytes: 0, skipped: 0, errors: 0 }
  let inFlight = 0
  let sent = 0
  const one = async (): Promise<void> => {
    inFlight++
    sent++
    const t0 = performance.now()
    const before = out.bytes
    try {
      await new Promise<void>((resolve, reject) => {
        const req = request(url, { agent, headers }, (res) => {
          let head = ''
          // Only the head is decompressed, for the version; the rest is counted as it comes.
          const gz = res.headers['content-encoding'] === 'gzip' ? createGunzip() : undefined
          gz?.on('data', (chunk: Buffer) => { if (head.length < 32) head += chunk.subarray(0, 32).toString('latin1') })
          gz?.on('error', () => {})
          res.on('data', (chunk: Buffer) => {
            if (gz !== undefined) {
              if (head.length < 32 && out.bytes - before < 65536) gz.write(chunk)
            } else if (head.length < 32) head += chunk.subarray(0, 32).toString('latin1')
            out.bytes += chunk.length
          })
          res.on('end', () => {
            out.ms.push(performance.now() - t0)
            gz?.destroy()
            out.versions.push(Number(/^\{"version":(\d+)/.exec(head)?.[1] ?? -1))
            if (res.statusCode !== 200) out.errors++
            resolve()
          })
          res.on('error', reject)
        })
        req.on('error', reject)
        req.end()
      })
    } catch {
      out.errors++
    } finally {
      inFlight--
    }
  }
  const pending: Array<Promise<void>> = []
  const end = performance.now() + seconds * 1000
  for (let next = performance.now(); count === undefined ? performance.now() < end : sent < count; next += 1000 / hz) {
    if (count !== undefined) { await one(); continue }
    if (inFlight < maxInFlight) pending.push(one())
    else out.skipped++
    await sleep(Math.max(0, next + 1000 / hz - performance.now()))
  }
  await Promise.all(pending)
  agent.destroy()
  process.stdout.write(JSON.stringify(out) + '\n')
}

async function poll (url: string, args: string[]): Promise<Poll> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--client', url, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  let text = ''
  child.stdout.on('data', (c: Buffer) => { text += c.toString() })
  const code = await new Promise<number | null>((resolve) => { child.on('exit', resolve) })
  if (code !== 0) throw new Error(`bench client exited with ${String(code)}`)
  return JSON.parse(text) as Poll
}

/** A mesh like the 1,000-relay model run's: relays on a plane, neighbours by the real policy. */
function mesh (n: number): { graph: MeshGraph, links: Array<[string, string, number]> } {
  const r = new Prng(n)
  const ids = Array.from({ length: n }, (_, i) => `r${String(i).padStart(4, '0')}`)
  const at = ids.map(() => [r.next() * 120, r.next() * 60])
  const rtt = (a: number, b: number): number => 2 + Math.hypot(at[a][0] - at[b][0], at[a][1] - at[b][1])
  const index = new Map(ids.map((id, i) => [id, i]))
  const graph = new MeshGraph()
  ids.forEach((id, i) => { graph.upsertRelay(id, `10.${i >> 8}.${i & 255}.1:7000`) })
  const sets = selectNeighbours(ids, measuredFromPairs(ids, (a, b) => rtt(index.get(a) as number, index.get(b) as number)))
  const links: Array<[string, string, number]> = []
  for (const [a, peers] of sets) for (const b of peers) links.push([a, b, rtt(index.get(a) as number, index.get(b) as number)])
  for (const [a, b, ms] of links) graph.updateLink(a, b, { rttMs: ms, jitterMs: 1, loss: 0, up: true })
  return { graph, links }
}

const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]
}
const r1 = (x: number): number => Math.round(x * 10) / 10

async function main (): Promise<void> {
  const relays = Number(values.relays)
  const seconds = Number(values.seconds)
  const hz = Number(values.hz)
  const versionEveryMs = Number(values['version-every-ms'])
  const uncachedRequests = Number(values['uncached-requests'])
  await RouteThreads.shared()?.ready()
  const { graph, links } = mesh(relays)
  graph.routes()
  let version = 1

  // The control loop: every relay's report once a second, in 100 slices; a new version now and then.
  const r = new Prng(99)
  const byRelay = new Map<string, Array<[string, number]>>()
  for (const [a, b, ms] of links) byRelay.set(a, [...(byRelay.get(a) ?? []), [b, ms]])
  const order = [...byRelay.keys()]
  let cursor = 0
  let reports = 0
  const reportsFrom = performance.now()
  const SLICES = 100
  const moveRate = Number(values['move-rate'])
  const reportTimer = setInterval(() => {
    for (let k = 0; k < order.length / SLICES; k++) {
      const id = order[cursor++ % order.length]
      for (const [peer, ms] of byRelay.get(id) ?? []) {
        // Figures wander by a few percent, under the cost hysteresis; now and then a link's cost
        // moves for real and the routes it carries are recomputed.
        const moved = r.next() < moveRate ? 1.3 : 1
        graph.updateLink(id, peer, { rttMs: ms * moved * (0.98 + r.next() * 0.04), jitterMs: 1, loss: 0, up: true })
      }
      reports++
    }
  }, 1000 / SLICES)
  const versionTimer = setInterval(() => { version++ }, versionEveryMs)

  let builds = 0
  const cache = new TopologyCache({ clock: systemClock, graph: () => graph, version: () => version, onBuild: () => { builds++ } })
  const log = pino({ level: 'silent' })
  const api = await startControllerHttp({ host: '127.0.0.1', port: 0, family: 4 }, {
    topology: async (o) => await cache.bodies(o), role: () => 'leader', registry: new Registry(), log
  })
  const old = await startControllerHttp({ host: '127.0.0.1', port: 0, family: 4 }, {
    // The code path this replaced (http-api.ts before the cache), for the baseline.
    topology: async (o) => Buffer.from(JSON.stringify(snapshotOf(graph, version, o))), role: () => 'leader', registry: new Registry(), log
  })

  const eld = monitorEventLoopDelay()
  const measure = async <T>(f: () => Promise<T>): Promise<{ result: T, eldP99: number, eldMax: number }> => {
    eld.reset()
    eld.enable()
    const result = await f()
    eld.disable()
    return { result, eldP99: r1(eld.percentile(99) / 1e6), eldMax: r1(eld.max / 1e6) }
  }
  const pollArgs = ['--hz', String(hz), '--seconds', String(seconds)]

  // Warm-up: the first body, and the JIT on both sides.
  await poll(`http://127.0.0.1:${api.bound.port}/api/topology`, ['--count', '2'])
  const idle = await measure(async () => { await sleep(seconds * 1000) })
  const buildsBefore = builds
  const cached = await measure(async () => await poll(`http://127.0.0.1:${api.bound.port}/api/topology`, pollArgs))
  const versionsSeen = new Set(cached.result.versions).size
  const cachedBuilds = builds - buildsBefore
  const identityArgs = [...pollArgs, '--encoding', 'identity']
  const cachedIdentity = await measure(async () => await poll(`http://127.0.0.1:${api.bound.port}/api/topology`, identityArgs))
  const bare = await measure(async () => await poll(`http://127.0.0.1:${api.bound.port}/api/topology?routes=false`, pollArgs))
  const bareIdentity = await measure(async () => await poll(`http://127.0.0.1:${api.bound.port}/api/topology?routes=false`, identityArgs))
  const uncached = uncachedRequests > 0
    ? await measure(async () => await poll(`http://127.0.0.1:${old.bound.port}/api/topology`, ['--count', String(uncachedRequests)]))
    : undefined

  clearInterval(reportTimer)
  clearInterval(versionTimer)
  await closeHttp(api.server)
  await closeHttp(old.server)
  const c = cached.result
  process.stdout.write(JSON.stringify({
    bench: 'topology-api',
    relays,
    links: links.length,
    body_bytes: Math.round(c.bytes / Math.max(1, c.ms.length)),
    seconds,
    hz,
    version_every_ms: versionEveryMs,
    reports_per_s: Math.round(reports / ((performance.now() - reportsFrom) / 1000)),
    idle: { eld_p99_ms: idle.eldP99, eld_max_ms: idle.eldMax },
    cached: {
      requests: c.ms.length, skipped: c.skipped, errors: c.errors, versions_seen: versionsSeen, builds: cachedBuilds,
      p50_ms: r1(pct(c.ms, 50)), p99_ms: r1(pct(c.ms, 99)), max_ms: r1(Math.max(...c.ms)),
      eld_p99_ms: cached.eldP99, eld_max_ms: cached.eldMax
    },
    cached_identity: {
      requests: cachedIdentity.result.ms.length, skipped: cachedIdentity.result.skipped, errors: cachedIdentity.result.errors,
      body_bytes: Math.round(cachedIdentity.result.bytes / Math.max(1, cachedIdentity.result.ms.length)),
      p50_ms: r1(pct(cachedIdentity.result.ms, 50)), p99_ms: r1(pct(cachedIdentity.result.ms, 99)), max_ms: r1(Math.max(...cachedIdentity.result.ms)),
      eld_p99_ms: cachedIdentity.eldP99, eld_max_ms: cachedIdentity.eldMax
    },
    cached_without_routes: {
      requests: bare.result.ms.length, skipped: bare.result.skipped, body_bytes: Math.round(bare.result.bytes / Math.max(1, bare.result.ms.length)),
      p50_ms: r1(pct(bare.result.ms, 50)), p99_ms: r1(pct(bare.result.ms, 99)),
      eld_p99_ms: bare.eldP99, eld_max_ms: bare.eldMax
    },
    cached_without_routes_identity: {
      requests: bareIdentity.result.ms.length, skipped: bareIdentity.result.skipped, body_bytes: Math.round(bareIdentity.result.bytes / Math.max(1, bareIdentity.result.ms.length)),
      p50_ms: r1(pct(bareIdentity.result.ms, 50)), p99_ms: r1(pct(bareIdentity.result.ms, 99)),
      eld_p99_ms: bareIdentity.eldP99, eld_max_ms: bareIdentity.eldMax
    },
    uncached: uncached === undefined
      ? null
      : {
          requests: uncached.result.ms.length, sequential: true, p50_ms: r1(pct(uncached.result.ms, 50)), max_ms: r1(Math.max(...uncached.result.ms)),
          eld_p99_ms: uncached.eldP99, eld_max_ms: uncached.eldMax
        },
    threads: RouteThreads.shared() !== undefined
  }) + '\n')
}

if (values.client !== undefined) {
  await client(values.client, Number(values.hz), Number(values.seconds), Number(values['max-in-flight']), values.count === undefined ? undefined : Number(values.count), values.encoding)
} else {
  await main()
}
