/**
 * Entry point of the route engine's helper thread (route-threads.ts): sleeps until a phase is
 * published, then claims rows from the top down, computing each privately and publishing it only
 * if the caller has not taken it back (row-claims.ts). Between phases it also serializes the
 * topology bodies it is sent (topology-json.ts), which are too big to build on the caller's
 * event loop.
 */
import { setFlagsFromString } from 'node:v8'
import { gzipSync } from 'node:zlib'
import { runInNewContext } from 'node:vm'
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads'
import { buildCsr, sharedAlloc, type EngineEdge } from './csr.js'
import { FAILED, PHASE_STOP, PHASE_TREES, SEQ, beginPublish, claimRow, endPublish, readJob } from './row-claims.js'
import { RowScratch, computeBackupRow, computeTreeRow, publishBackupRow, publishTreeRow, type RouteTables } from './route-rows.js'
import type { BodyReply, BodyRequest, TablesMessage } from './route-threads.js'
import { TOPOLOGY_GZIP_LEVEL, topologyJson } from './topology-json.js'

const { control, port } = workerData as { control: Int32Array, port: MessagePort }

/** Full computations of the warm-up mesh: enough for V8 to optimise the row code. */
const WARM_UP_ROUNDS = 40

/**
 * Runs both phases' row code on a small mesh until the JIT has compiled it, so that the first real
 * computations get this thread's full share rather than its interpreter's. A few milliseconds,
 * once, before the thread reports ready; phases published meanwhile are left to the caller.
 */
function warmUp (): void {
  const n = 64
  const edges: EngineEdge[] = []
  for (let u = 0; u < n; u++) {
    for (let k = 1; k <= 4; k++) edges.push({ from: u, to: (u + k * 7) % n, cost: 1 + ((u * 31 + k * 17) % 50) })
  }
  // Cloned, as real tables arrive by message: the compiled code then expects the object shapes
  // that messages have, and is not thrown away on the first real phase.
  const t: RouteTables = structuredClone({
    n,
    g: buildCsr(n, edges, sharedAlloc),
    dist: sharedAlloc.f64(n * n).fill(Infinity),
    next: sharedAlloc.i32(n * n).fill(-1),
    backup: sharedAlloc.i32(n * n).fill(-1)
  })
  const s = new RowScratch(n)
  for (let round = 0; round < WARM_UP_ROUNDS; round++) {
    for (let d = 0; d < n; d++) { computeTreeRow(t, s, d); publishTreeRow(t, s, d) }
    for (let d = 0; d < n; d++) { computeBackupRow(t, s, d); publishBackupRow(t, s, d) }
  }
}

/**
 * A collection of this thread's heap, run when it lets go of tables. Tables are SharedArrayBuffers
 * (16 MB at 1,000 relays, a new set per route rebuild), freed only once every thread holding one
 * has collected its handle. This thread allocates almost nothing, so left to itself it hardly ever
 * collects, and every set it was sent stayed in memory: the 1,000-relay model run grew by 3 GB
 * over 600 s, and a controller would grow the same way. The flag exposes `gc` to contexts created
 * after it, here one of our own.
 */
setFlagsFromString('--expose-gc')
const collect = runInNewContext('gc') as () => void

/** The last tables sent: the caller re-sends before any phase on other tables. */
let posted: TablesMessage | undefined
let scratch: RowScratch | undefined
let seen = 0

warmUp()
parentPort?.postMessage('ready')
for (;;) {
  Atomics.wait(control, SEQ, seen)
  const job = readJob(control)
  seen = job.seq
  if (job.phase === PHASE_STOP) break
  let received = false
  const bodies: BodyRequest[] = []
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
    const msg = m.message as TablesMessage | BodyRequest
    if ('kind' in msg) bodies.push(msg)
    else { posted = msg; received = true }
  }
  // The tables replaced are now unreachable here.
  if (received) collect()
  // A phase on tables we were not sent (or that were replaced since) is left to the caller.
  if (posted !== undefined && posted.id === job.tables && !runPhase(job.seq, job.phase, posted)) {
    // Our claimed row stays unpublished; the caller takes it back and meets the same error.
    Atomics.store(control, FAILED, 1)
    break
  }
  // Bodies wait for the phase: the caller is blocked on its rows, and no one on a body.
  if (bodies.length > 0) {
    for (const b of bodies) serialize(b)
    // Each body leaves ~its size in buffers behind, which this thread would otherwise keep.
    collect()
  }
}

/** Claims and publishes rows of one phase; false when the row code threw. */
function runPhase (seq: number, phase: number, msg: TablesMessage): boolean {
  const { tables: t, states } = msg
  if (scratch === undefined || scratch.next.length !== t.n) scratch = new RowScratch(t.n)
  const s = scratch
  try {
    for (let d = t.n - 1; d >= 0 && claimRow(states, seq, d); d--) {
      if (phase === PHASE_TREES) computeTreeRow(t, s, d)
      else computeBackupRow(t, s, d)
      // Taken back by the caller, which has then reached this row: nothing is left for us.
      if (!beginPublish(states, seq, d)) break
      if (phase === PHASE_TREES) publishTreeRow(t, s, d)
      else publishBackupRow(t, s, d)
      endPublish(states, seq, d)
    }
    return true
  } catch {
    return false
  }
}

/**
 * Serializes one body, and gzips it for clients that take gzip (a fifth of the bytes to
 * send at 1,000 relays), and hands both buffers over; a failure goes back as its message.
 */
function serialize (b: BodyRequest): void {
  let reply: BodyReply
  try {
    const body = topologyJson(b.input)
    const gzip = gzipSync(body, { level: TOPOLOGY_GZIP_LEVEL })
    reply = { kind: 'body', id: b.id, body, gzip }
    // Only buffers of their own: a small gzip output may sit in Buffer's shared pool.
    const own = [body, gzip].filter((u) => u.byteOffset === 0 && u.byteLength === u.buffer.byteLength).map((u) => u.buffer as ArrayBuffer)
    port.postMessage(reply, own)
  } catch (err) {
    reply = { kind: 'body', id: b.id, error: (err as Error).message }
    port.postMessage(reply)
  }
}
