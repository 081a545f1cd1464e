import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import type { Clock, Timer } from '../src/clock.js'
import type { MeshGraph } from '../topology/mesh-graph.js'
import { RouteThreads } from '../topology/route-threads.js'
import { topologyInput, type TopologyInput } from '../topology/topology-input.js'
import { TOPOLOGY_GZIP_LEVEL, topologyJson } from '../topology/topology-json.js'
import { TOPOLOGY_MAX_AGE_MS, TOPOLOGY_OFFLOAD_MIN_RELAYS, TOPOLOGY_REFRESH_SHARE, TOPOLOGY_WAIT_MS } from './constants.js'

export interface TopologyCacheInit {
  clock: Clock
  /** The graph and table version the body describes, read at each request. */
  graph: () => MeshGraph
  version: () => number
  /** How long a body serves on at the same version while figures move; TOPOLOGY_MAX_AGE_MS. */
  maxAgeMs?: number
  /**
   * Where bodies are serialized: on the route helper thread ('thread', where worker threads can
   * start), on the event loop ('main'), or on the thread from TOPOLOGY_OFFLOAD_MIN_RELAYS relays
   * ('auto', the default).
   */
  offload?: 'auto' | 'thread' | 'main'
  /**
   * How long a request waits for a new version's body before the last body answers (ms);
   * TOPOLOGY_WAIT_MS.
   */
  waitMs?: number
  /** Serializes bodies instead of topology-json.ts where `offload` says: for tests. */
  serialize?: (input: TopologyInput) => Promise<Uint8Array>
  /** Called as each build starts: tests and benchmarks count builds with it. */
  onBuild?: (b: { version: number, routes: boolean, relays: number, thread: boolean }) => void
}

/** One body in both encodings: JSON as is, and gzip'd (TOPOLOGY_GZIP_LEVEL) for clients that take it. */
export interface TopologyBodies {
  identity: Buffer
  gzip: Buffer
}

const gzipAsync = promisify(gzip)

/** One body build: what it was taken from, and the body once serialized. */
interface Build {
  graph: MeshGraph
  version: number
  revision: number
  takenAt: number
  body: Promise<TopologyBodies>
  /** Set once the body is serialized. */
  ready?: TopologyBodies
  /** How long it took, copy and serialization, once ready (ms). */
  tookMs?: number
}

/** For one value of ?routes: the last body built, and the build under way, if any. */
interface Slot {
  current?: Build
  next?: Build
}

/**
 * GET /api/topology's body, built once per table version and served as a ready Buffer. At 1,000
 * relays a body is about 100 MB of JSON (a million routes); building it per request took 3 s of
 * the event loop. Here the graph is copied out on the event loop (topology-input.ts, a few ms) and
 * serialized on the route helper thread (topology-json.ts, route-threads.ts), at most one build at
 * a time per ?routes value; requests that arrive meanwhile share it.
 *
 * Consistency: every body is labelled with the table version it was taken at and is all of that
 * instant. Once the version moves, a request waits for the new version's body, up to `waitMs`;
 * past that (a large mesh on a busy machine) it is answered with the last body, which says its
 * own, older version. Within one version, link figures keep moving with every report: a body then
 * serves on for up to `maxAgeMs`, or TOPOLOGY_REFRESH_SHARE times as long as it took to build if
 * that is longer, after which the next request starts a fresh build and is answered with the last
 * body meanwhile. A graph that has not changed (MeshGraph.revision) is
 * never rebuilt.
 */
export class TopologyCache {
  private readonly init: TopologyCacheInit
  private readonly maxAgeMs: number
  private readonly waitMs: number
  /** Indexed by ?routes: 0 without, 1 with. */
  private readonly slots: Slot[] = [{}, {}]
  private builds = 0

  constructor (init: TopologyCacheInit) {
    this.init = init
    this.maxAgeMs = init.maxAgeMs ?? TOPOLOGY_MAX_AGE_MS
    this.waitMs = init.waitMs ?? TOPOLOGY_WAIT_MS
  }

  /** The JSON body for the current version (see bodies()). */
  async body (opts: { routes: boolean }): Promise<Buffer> {
    return (await this.bodies(opts)).identity
  }

  /**
   * The body for the current version (see the class comment), as JSON and gzip'd, both built
   * once per build; rejects when no body can be had.
   */
  async bodies (opts: { routes: boolean }): Promise<TopologyBodies> {
    const slot = this.slots[opts.routes ? 1 : 0]
    const graph = this.init.graph()
    const version = this.init.version()
    const { current, next } = slot
    const same = (b: Build | undefined): boolean => b !== undefined && b.graph === graph && b.version === version
    if (current !== undefined && same(current)) {
      // A body that took long to build serves on for longer, so that refreshes within a version
      // keep the helper thread busy a bounded share of the time.
      const maxAge = Math.max(this.maxAgeMs, TOPOLOGY_REFRESH_SHARE * (current.tookMs ?? 0))
      const stale = current.revision !== graph.revision && this.init.clock.monoMs() - current.takenAt >= maxAge
      if (stale && current.ready !== undefined && next === undefined) this.start(slot, graph, version, opts.routes)
      return await current.body
    }
    const building = next !== undefined && same(next) ? next : this.start(slot, graph, version, opts.routes)
    return await this.awaitBuild(building, current?.ready)
  }

  /** Builds started so far. */
  stats (): { builds: number } {
    return { builds: this.builds }
  }

  /** Starts a build that replaces the slot's body once done (unless a newer one was started). */
  private start (slot: Slot, graph: MeshGraph, version: number, routes: boolean): Build {
    const b = this.build(graph, version, routes)
    slot.next = b
    b.body.then(() => {
      if (slot.next === b) { slot.current = b; slot.next = undefined }
    }, () => {
      // Forgotten, so that the next request tries again.
      if (slot.next === b) slot.next = undefined
    })
    return b
  }

  /** The build's body, or `fallback` once waitMs have passed or if the build fails. */
  private async awaitBuild (b: Build, fallback: TopologyBodies | undefined): Promise<TopologyBodies> {
    if (fallback === undefined) return await b.body
    let timer: Timer | undefined
    const late = new Promise<undefined>((resolve) => { timer = this.init.clock.setTimeout(() => { resolve(undefined) }, this.waitMs) })
    try {
      return (await Promise.race([b.body, late])) ?? fallback
    } catch {
      return fallback
    } finally {
      if (timer !== undefined) this.init.clock.clearTimer(timer)
    }
  }

  private build (graph: MeshGraph, version: number, routes: boolean): Build {
    const takenAt = this.init.clock.monoMs()
    const revision = graph.revision
    const b: Build = { graph, version, revision, takenAt, body: Promise.resolve({ identity: Buffer.alloc(0), gzip: Buffer.alloc(0) }) }
    this.builds++
    let input
    try {
      input = topologyInput(graph, version, { routes })
    } catch (err) {
      b.body = Promise.reject(err)
      return b
    }
    const mode = this.init.offload ?? 'auto'
    const wanted = mode === 'thread' || (mode === 'auto' && input.ids.length >= TOPOLOGY_OFFLOAD_MIN_RELAYS)
    // A helper that died leaves bodies to the event loop, as it leaves rows to the caller.
    const shared = wanted && this.init.serialize === undefined ? RouteThreads.shared() : undefined
    const threads = shared?.usable === true ? shared : undefined
    this.init.onBuild?.({ version, routes, relays: input.ids.length, thread: threads !== undefined })
    // On the helper thread, gzip is done there too; otherwise zlib's own threads do it.
    const onLoop = async (u8: Uint8Array): Promise<{ body: Uint8Array, gzip: Uint8Array }> =>
      ({ body: u8, gzip: await gzipAsync(u8, { level: TOPOLOGY_GZIP_LEVEL }) })
    const bytes = this.init.serialize !== undefined
      ? this.init.serialize(input).then(onLoop)
      : threads !== undefined ? threads.topologyJson(input) : Promise.resolve(input).then(topologyJson).then(onLoop)
    const buf = (u8: Uint8Array): Buffer => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength)
    b.body = bytes.then((r) => {
      b.ready = { identity: buf(r.body), gzip: buf(r.gzip) }
      b.tookMs = this.init.clock.monoMs() - takenAt
      return b.ready
    })
    return b
  }
}
