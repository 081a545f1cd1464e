import type { Clock } from '../src/clock.js'
import type { MeshGraph } from '../topology/mesh-graph.js'
import { RouteThreads } from '../topology/route-threads.js'
import { topologyInput } from '../topology/topology-input.js'
import { topologyJson } from '../topology/topology-json.js'
import { TOPOLOGY_MAX_AGE_MS, TOPOLOGY_OFFLOAD_MIN_RELAYS } from './constants.js'

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
  /** Called as each build starts: tests and benchmarks count builds with it. */
  onBuild?: (b: { version: number, routes: boolean, relays: number, thread: boolean }) => void
}

/** One body build: what it was taken from, and the body once serialized. */
interface Build {
  graph: MeshGraph
  version: number
  revision: number
  takenAt: number
  body: Promise<Buffer>
  ready: boolean
}

/** The body on offer for one value of ?routes, and the fresher one being built at its version. */
interface Slot {
  current: Build
  refresh?: Build
}

/**
 * GET /api/topology's body, built once per table version and served as a ready Buffer. At 1,000
 * relays a body is about 100 MB of JSON (a million routes); building it per request took 3 s of
 * the event loop. Here the graph is copied out on the event loop (topology-input.ts, a few ms) and
 * serialized on the route helper thread (topology-json.ts, route-threads.ts).
 *
 * Consistency: a body is labelled with the version it was taken at, and a request is answered
 * with a body of the version current when it arrives: once the version moves, every request waits
 * for the new body (requests that arrive while one is being built share it). Within one version,
 * link figures keep moving with every report; a body then serves on for up to `maxAgeMs`, after
 * which the next request starts a fresh build and is answered with the last body meanwhile. A
 * graph that has not changed at all (MeshGraph.revision) is never rebuilt.
 */
export class TopologyCache {
  private readonly init: TopologyCacheInit
  private readonly maxAgeMs: number
  /** Indexed by ?routes: 0 without, 1 with. */
  private readonly slots: Array<Slot | undefined> = [undefined, undefined]
  private builds = 0

  constructor (init: TopologyCacheInit) {
    this.init = init
    this.maxAgeMs = init.maxAgeMs ?? TOPOLOGY_MAX_AGE_MS
  }

  /** The body for the current version; rejects when building it failed (the next call retries). */
  async body (opts: { routes: boolean }): Promise<Buffer> {
    const k = opts.routes ? 1 : 0
    const graph = this.init.graph()
    const version = this.init.version()
    const slot = this.slots[k]
    if (slot === undefined || slot.current.graph !== graph || slot.current.version !== version) {
      // A new version: nothing older may answer. A refresh of the old one is dropped with it.
      const b = this.build(graph, version, opts.routes)
      this.slots[k] = { current: b }
      this.forgetOnFailure(k, b)
      return await b.body
    }
    const cur = slot.current
    const stale = cur.revision !== graph.revision && this.init.clock.monoMs() - cur.takenAt >= this.maxAgeMs
    if (stale && cur.ready && slot.refresh === undefined) {
      const b = this.build(graph, version, opts.routes)
      slot.refresh = b
      b.body.then(() => {
        if (this.slots[k] === slot && slot.refresh === b) { slot.current = b; slot.refresh = undefined }
      }, () => {
        if (slot.refresh === b) slot.refresh = undefined
      })
    }
    return await cur.body
  }

  /** Builds started so far. */
  stats (): { builds: number } {
    return { builds: this.builds }
  }

  private build (graph: MeshGraph, version: number, routes: boolean): Build {
    const takenAt = this.init.clock.monoMs()
    const revision = graph.revision
    const b: Build = { graph, version, revision, takenAt, body: Promise.resolve(Buffer.alloc(0)), ready: false }
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
    const threads = wanted ? RouteThreads.shared() : undefined
    this.init.onBuild?.({ version, routes, relays: input.ids.length, thread: threads !== undefined })
    const bytes = threads !== undefined ? threads.topologyJson(input) : Promise.resolve(input).then(topologyJson)
    b.body = bytes.then((u8) => {
      b.ready = true
      return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength)
    })
    return b
  }

  /** A failed build is forgotten, so that the next request tries again. */
  private forgetOnFailure (k: number, b: Build): void {
    b.body.catch(() => {
      if (this.slots[k]?.current === b) this.slots[k] = undefined
    })
  }
}
