/**
 * The traffic generator of the forwarding benchmark, run as a worker thread of forward.ts so the
 * sink on the main thread keeps its own event loop.
 *
 * It paces by sleeping in Atomics.wait, whose timeout has sub-millisecond resolution, instead of
 * timers (1 ms granularity, so 10-packet bursts at 10 kpps) or a setImmediate spin (a whole core
 * burnt on a 2-core machine that the relays need). It wakes every TICK and sends every packet whose
 * due time has passed, so the rate stays exact even when a wake comes late. A wait overshoots by
 * timer slack plus wake-up latency (~100 µs on this VM), so the pacer learns the overshoot and asks
 * for that much less.
 *
 * Why a 200 µs tick and not one wake per packet: on this 2-vCPU VM a wake-up costs every hop
 * ~8 µs of CPU, and per-packet wakes at 10 kpps raised CPU per packet by a third and made the
 * latency figures twice as noisy, for relay and bare alike. Two packets per tick at 10 kpps adds
 * at most one packet's service time of queueing per hop.
 *
 * Blocking the worker's event loop is safe because the socket is connected: node:dgram then skips
 * the address lookup and sends synchronously (uv_udp_try_send). A fresh buffer per packet keeps a
 * send that the kernel queued (EAGAIN) from seeing its bytes overwritten.
 *
 * Payload (200 B): u32le trial id, u32le sequence, u64le process.hrtime.bigint() at send, zeros.
 */
import dgram from 'node:dgram'
import { parentPort } from 'node:worker_threads'

export const PAYLOAD_BYTES = 200
export const SOCKET_BUFFER = 4 * 1024 * 1024

export interface PaceRequest {
  port: number
  trial: number
  rate: number
  /** Packets sent before the measured window starts (the sink ignores them). */
  warm: number
  total: number
}

export interface PaceResult {
  sent: number
  elapsedNs: number
  /** Send errors reported so far by this worker's sockets (cumulative). */
  sendErrors: number
}

/** Wake-up period of the pacer. */
const TICK_NS = 200_000
/** Shortest wait asked for. */
const MIN_WAIT_NS = 1000
/** Starting guess of how much later than asked a wait returns. */
const INITIAL_OVERSHOOT_NS = 50_000
const MAX_OVERSHOOT_NS = 300_000

const sleeper = new Int32Array(new SharedArrayBuffer(4))
const sockets = new Map<number, dgram.Socket>()
let sendErrors = 0

async function socketFor (port: number): Promise<dgram.Socket> {
  let s = sockets.get(port)
  if (s !== undefined) return s
  s = dgram.createSocket({ type: 'udp4', recvBufferSize: SOCKET_BUFFER, sendBufferSize: SOCKET_BUFFER })
  s.on('error', () => { sendErrors++ })
  const sock = s
  await new Promise<void>((resolve) => { sock.connect(port, '127.0.0.1', resolve) })
  sockets.set(port, sock)
  return sock
}

let overshoot = INITIAL_OVERSHOOT_NS

function pace (sock: dgram.Socket, req: PaceRequest): PaceResult {
  const nsPerPacket = 1e9 / req.rate
  const start = process.hrtime.bigint()
  let sent = 0
  for (;;) {
    const elapsed = Number(process.hrtime.bigint() - start)
    const due = Math.min(req.total, Math.floor(elapsed / nsPerPacket) + 1)
    while (sent < due) {
      const buf = Buffer.alloc(PAYLOAD_BYTES)
      buf.writeUInt32LE(req.trial, 0)
      buf.writeUInt32LE(sent, 4)
      buf.writeBigUInt64LE(process.hrtime.bigint(), 8)
      sock.send(buf)
      sent++
    }
    if (sent >= req.total) break
    const before = Number(process.hrtime.bigint() - start)
    const wakeAt = Math.max(sent * nsPerPacket, elapsed + TICK_NS)
    const ask = Math.max(MIN_WAIT_NS, wakeAt - before - overshoot)
    Atomics.wait(sleeper, 0, 0, ask / 1e6)
    const slept = Number(process.hrtime.bigint() - start) - before
    // Capped so one scheduling stall does not teach it to skip waiting for a while.
    overshoot += (Math.min(MAX_OVERSHOOT_NS, Math.max(0, slept - ask)) - overshoot) / 16
  }
  return { sent, elapsedNs: Number(process.hrtime.bigint() - start), sendErrors }
}

const port = parentPort
if (port !== null) {
  port.on('message', (req: PaceRequest | 'close') => {
    if (req === 'close') {
      for (const s of sockets.values()) s.close()
      port.close()
      return
    }
    socketFor(req.port).then((sock) => {
      port.postMessage(pace(sock, req))
    }, (err: Error) => { port.postMessage({ error: err.message }) })
  })
}
