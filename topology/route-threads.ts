import { once } from 'node:events'
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads'
import { CALLER, CONTROL_SLOTS, FAILED, PHASE_MESSAGES, PHASE_STOP, PUBLISHED, PUBLISHING, publishJob, tag } from './row-claims.js'
import type { RouteTables } from './route-rows.js'
import { transferables, type TopologyInput } from './topology-input.js'

/** Runs `work(d)` (compute and publish row d) for every row of one phase, and returns when done. */
export interface RowRunner {
  run: (tables: RouteTables, phase: number, work: (row: number) => void) => void
}

/** Everything on the calling thread. */
export const serialRunner: RowRunner = {
  run (tables, _phase, work) {
    for (let d = 0; d < tables.n; d++) work(d)
  }
}

/**
 * How long the caller waits on a row the helper is copying in before presuming the helper dead.
 * A copy takes microseconds; this fires only for a helper that died part-way.
 */
const STALL_MS = 10_000
/** Granularity of that wait; a finished copy wakes the caller at once regardless. */
const WAIT_SLICE_MS = 100

/** What the helper thread is sent once per tables object (route-thread.ts). */
export interface TablesMessage {
  id: number
  tables: RouteTables
  /** Per-row claim state for the current phase (row-claims.ts). */
  states: Int32Array
}

/** A topology body for the helper to serialize between phases (topology-json.ts). */
export interface BodyRequest {
  kind: 'body'
  id: number
  input: TopologyInput
}

/** The helper's answer: the body's bytes (transferred), or why it could not build them. */
export interface BodyReply {
  kind: 'body'
  id: number
  body?: Uint8Array
  /** The same body gzip'd (TOPOLOGY_GZIP_LEVEL). */
  gzip?: Uint8Array
  error?: string
}

/**
 * The calling thread plus one helper worker thread, splitting each phase's rows (row-claims.ts).
 * The caller blocks until every row is in, so `computeAll` stays synchronous; it never waits for
 * the helper's computation, only for a row being copied in, so a helper starved of CPU by a busy
 * machine costs at most one row computed twice. Tables must live in SharedArrayBuffers.
 *
 * One helper per process (`shared()`), started on first use and unref'd: it sleeps in
 * Atomics.wait while idle and does not hold the process open, so callers need no lifecycle of
 * their own. `stop()` ends it. The helper keeps a reference to the last tables it worked on until
 * it is sent others.
 */
export class RouteThreads implements RowRunner {
  private static instance: RouteThreads | undefined
  private static unavailable = false
  private readonly worker: Worker
  private readonly port: MessagePort
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * 4))
  private readonly sent = new WeakMap<RouteTables, TablesMessage>()
  private nextId = 1
  private postedId = 0
  private broken = false
  private started = false
  private rows = 0
  private helperRows = 0
  private readonly bodies = new Map<number, { resolve: (b: { body: Uint8Array, gzip: Uint8Array }) => void, reject: (e: Error) => void }>()
  private nextBody = 1

  /** The process's helper, started on first call; undefined where worker threads cannot start. */
  static shared (): RouteThreads | undefined {
    if (RouteThreads.instance === undefined && !RouteThreads.unavailable) {
      try {
        RouteThreads.instance = new RouteThreads()
      } catch {
        RouteThreads.unavailable = true
      }
    }
    return RouteThreads.instance
  }

  private constructor () {
    const { port1, port2 } = new MessageChannel()
    this.port = port1
    this.worker = new Worker(new URL('./route-thread.js', import.meta.url), {
      workerData: { control: this.control, port: port2 },
      transferList: [port2]
    })
    this.worker.unref()
    this.port.unref()
    // Seen only between computations: the caller's thread is blocked during one.
    this.worker.on('error', () => { this.broken = true; this.failBodies() })
    this.worker.on('exit', () => { this.broken = true; this.failBodies() })
    this.port.on('message', (m: BodyReply) => { this.onBody(m) })
    this.port.unref()
  }

  /** False once the helper has stopped or died: work then stays on the calling thread. */
  get usable (): boolean {
    return !this.broken
  }

  /**
   * Serializes a topology body on the helper thread, between its phases, so that the caller's
   * event loop carries on meanwhile, and gzips it there too. Takes over the input's buffers.
   * Rejects when the helper is gone or the serializer threw.
   */
  async topologyJson (input: TopologyInput): Promise<{ body: Uint8Array, gzip: Uint8Array }> {
    if (this.broken) throw new Error('the route helper thread has stopped')
    const id = this.nextBody++
    const done = new Promise<{ body: Uint8Array, gzip: Uint8Array }>((resolve, reject) => { this.bodies.set(id, { resolve, reject }) })
    // A body on its way keeps the process up, as any pending I/O would.
    if (this.bodies.size === 1) this.port.ref()
    this.port.postMessage({ kind: 'body', id, input } satisfies BodyRequest, transferables(input))
    publishJob(this.control, 0, PHASE_MESSAGES)
    return await done
  }

  private onBody (m: BodyReply): void {
    const waiter = this.bodies.get(m.id)
    if (waiter === undefined) return
    this.bodies.delete(m.id)
    if (this.bodies.size === 0) this.port.unref()
    if (m.body !== undefined && m.gzip !== undefined) waiter.resolve({ body: m.body, gzip: m.gzip })
    else waiter.reject(new Error(`serializing the topology failed on the route helper thread: ${m.error ?? 'no reason given'}`))
  }

  private failBodies (): void {
    for (const w of this.bodies.values()) w.reject(new Error('the route helper thread stopped while serializing the topology'))
    this.bodies.clear()
    this.port.unref()
  }

  run (tables: RouteTables, phase: number, work: (row: number) => void): void {
    if (this.broken) { serialRunner.run(tables, phase, work); return }
    let msg = this.sent.get(tables)
    if (msg === undefined) {
      msg = { id: this.nextId++, tables, states: new Int32Array(new SharedArrayBuffer(tables.n * 4)) }
      this.sent.set(tables, msg)
    }
    // The helper keeps only the last tables it was sent, so alternating engines re-send theirs:
    // cheap, since shared arrays cross by reference.
    if (msg.id !== this.postedId) {
      this.port.postMessage(msg)
      this.postedId = msg.id
    }
    const { seq } = publishJob(this.control, msg.id, phase)
    const states = msg.states
    let helperRows = 0
    for (let d = 0; d < tables.n; d++) {
      for (let waited = 0; ;) {
        const v = Atomics.load(states, d)
        if (v === tag(seq, PUBLISHED)) { helperRows++; break }
        if (v === tag(seq, PUBLISHING)) {
          if (Atomics.wait(states, d, v, WAIT_SLICE_MS) === 'timed-out' && (waited += WAIT_SLICE_MS) >= STALL_MS) {
            // Rows are idempotent: recomputing this one is safe even if the helper wakes up.
            this.stop()
            Atomics.store(states, d, tag(seq, CALLER))
            work(d)
            break
          }
          continue
        }
        // Not yet claimed, or claimed by the helper but not published: the caller takes it.
        if (Atomics.compareExchange(states, d, v, tag(seq, CALLER)) === v) { work(d); break }
      }
    }
    // A helper that threw leaves its row to the caller, which meets the same error itself.
    if (Atomics.load(this.control, FAILED) !== 0) this.stop()
    this.rows += tables.n
    this.helperRows += helperRows
  }

  /**
   * Resolves once the helper thread is up and waiting for work. Optional: phases run without it
   * until then. For a caller that wants the one-time thread start-up out of the way, e.g. a
   * benchmark before its timed runs.
   */
  async ready (): Promise<void> {
    if (this.started || this.broken) return
    this.worker.ref()
    try {
      const up = once(this.worker, 'message').then(() => true)
      const down = once(this.worker, 'exit').then(() => false)
      this.started = await Promise.race([up, down]).catch(() => false)
      // A helper that cannot start leaves every row to the caller, as on a single core.
      if (!this.started) this.broken = true
    } finally {
      this.worker.unref()
    }
  }

  /** Rows computed through this runner, and how many of them the helper thread took. */
  stats (): { rows: number, helperRows: number } {
    return { rows: this.rows, helperRows: this.helperRows }
  }

  /** Ends the helper; later phases run on the calling thread only. */
  stop (): void {
    if (this.broken) return
    this.broken = true
    publishJob(this.control, 0, PHASE_STOP)
    void this.worker.terminate()
    this.failBodies()
    if (RouteThreads.instance === this) {
      RouteThreads.instance = undefined
      RouteThreads.unavailable = true
    }
  }
}
