import { randomBytes } from 'node:crypto'
import dgram from 'node:dgram'
import { systemClock } from '../../src/clock.js'
import { createLogger } from '../../src/logging.js'
import type { HostPort } from '../../src/transport/address.js'
import type { ImpairParams } from '../../src/transport/impair/model.js'
import { LinkEmulator } from '../../relay/link-emulator.js'
import type { RecoveryInit } from '../../relay/recovery/recovery-plane.js'
import { Relay } from '../../relay/relay.js'
import { validateStaticMesh } from '../../relay/static-mesh.js'
import { parseTunnelSpec } from '../../relay/tunnel/spec.js'
import { freeUdpPort, waitFor } from './relay-process.js'

/**
 * A chain of relays in this process, in static mode on real UDP (ids[0] – ids[1] – … – ids[n−1]),
 * each with a LinkEmulator, and a tunnel from the first to a UDP sink behind the last. For
 * recovery tests and bench:recovery: `impair[i]` impairs what ids[i] sends to ids[i+1], and
 * `reverse[i]` what ids[i+1] sends back.
 */
export interface ChainInit {
  ids: string[]
  impair?: Array<Partial<ImpairParams> | undefined>
  reverse?: Array<Partial<ImpairParams> | undefined>
  /** Traffic class of the tunnel: bulk, video, audio or signaling. */
  tunnelClass?: string
  /** Per-hop recovery options, or false for none. */
  recovery?: RecoveryInit | false
}

export interface Chain {
  relays: Relay[]
  /** Each relay's emulator, and each relay's mesh port: emulators[i].stats('127.0.0.1', ports[i + 1]) is link i → i+1. */
  emulators: LinkEmulator[]
  ports: number[]
  /** Where to send into the tunnel. */
  ingress: HostPort
  /** What came out at the far end: each datagram's payload and arrival time (ms, monotonic). */
  sink: { socket: dgram.Socket, received: Array<{ payload: Buffer, atMs: number }> }
  stop: () => Promise<void>
}

export async function startChain (init: ChainInit): Promise<Chain> {
  const log = createLogger({ level: process.env.RELAYMESH_TEST_LOG ?? 'silent', pretty: false })
  const ports: number[] = []
  for (let i = 0; i < init.ids.length; i++) ports.push(await freeUdpPort())
  const mesh = validateStaticMesh({
    relays: init.ids.map((id, i) => ({ id, address: `127.0.0.1:${ports[i]}` })),
    links: init.ids.slice(1).map((id, i) => [init.ids[i], id])
  })
  const sinkSocket = dgram.createSocket('udp4')
  const received: Chain['sink']['received'] = []
  sinkSocket.on('message', (m) => { received.push({ payload: m, atMs: performance.now() }) })
  await new Promise<void>((resolve) => { sinkSocket.bind(0, '127.0.0.1', resolve) })
  sinkSocket.setRecvBufferSize(4 * 1024 * 1024)
  const key = randomBytes(32)
  const last = init.ids[init.ids.length - 1]
  const relays: Relay[] = []
  const emulators: LinkEmulator[] = []
  const stop = async (): Promise<void> => {
    for (const r of relays) await r.stop()
    sinkSocket.close()
  }
  try {
    for (const [i, id] of init.ids.entries()) {
      const emu = new LinkEmulator()
      emulators.push(emu)
      const next = init.impair?.[i]
      if (next !== undefined && i + 1 < ports.length) emu.set('127.0.0.1', ports[i + 1], next)
      const back = init.reverse?.[i - 1]
      if (back !== undefined && i > 0) emu.set('127.0.0.1', ports[i - 1], back)
      const tunnel = `127.0.0.1:0@${last}=127.0.0.1:${(sinkSocket.address()).port}${init.tunnelClass === undefined ? '' : `,class=${init.tunnelClass}`}`
      const r = new Relay({ clock: systemClock, logger: log }, {
        id,
        listen: { host: '127.0.0.1', port: ports[i], family: 4 },
        meshKey: key,
        staticMesh: mesh,
        tunnels: i === 0 ? [parseTunnelSpec(tunnel)] : [],
        egressAllow: ['127.0.0.1/32'],
        linkEmulator: emu,
        recovery: init.recovery
      })
      await r.start()
      relays.push(r)
    }
    const ingress = relays[0].tunnels.ingress[0].bound as HostPort
    // Sessions come up with the first HELLOs: send until a datagram makes it through.
    const probe = dgram.createSocket('udp4')
    try {
      await waitFor(() => {
        probe.send('warm-up', ingress.port, ingress.host)
        return received.length > 0
      }, 30_000, 'a datagram through the chain')
    } finally {
      probe.close()
    }
    received.length = 0
    return { relays, emulators, ports, ingress, sink: { socket: sinkSocket, received }, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

/**
 * Sends `count` numbered datagrams of `size` bytes into the chain at `pps` (paced on the
 * monotonic clock, catching up after a late timer), then waits `drainMs` for stragglers. Returns
 * each one's send time by number.
 */
export async function sendNumbered (chain: Chain, count: number, pps: number, size: number, drainMs: number): Promise<Float64Array> {
  const s = dgram.createSocket('udp4')
  const sentAt = new Float64Array(count)
  const start = performance.now()
  try {
    for (let i = 0; i < count; i++) {
      const due = start + (i * 1000) / pps
      const wait = due - performance.now()
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait))
      const buf = Buffer.alloc(Math.max(8, size))
      buf.writeUInt32BE(i, 0)
      sentAt[i] = performance.now()
      s.send(buf, chain.ingress.port, chain.ingress.host)
    }
    await new Promise((resolve) => setTimeout(resolve, drainMs))
  } finally {
    s.close()
  }
  return sentAt
}

/** Loss and added latency of a numbered run: latency over the chain's fastest delivery. */
export function flowFigures (chain: Chain, sentAt: Float64Array): { lost: number, loss: number, delivered: number, duplicates: number, p50AddedMs: number, p99AddedMs: number } {
  const seen = new Uint8Array(sentAt.length)
  const latency: number[] = []
  let duplicates = 0
  for (const r of chain.sink.received) {
    if (r.payload.length < 4) continue
    const n = r.payload.readUInt32BE(0)
    if (n >= sentAt.length) continue
    if (seen[n] === 1) { duplicates++; continue }
    seen[n] = 1
    latency.push(r.atMs - sentAt[n])
  }
  latency.sort((a, b) => a - b)
  const base = latency[0] ?? 0
  const pct = (p: number): number => latency.length === 0 ? NaN : latency[Math.min(latency.length - 1, Math.floor(p * latency.length))] - base
  const delivered = latency.length
  return { lost: sentAt.length - delivered, loss: (sentAt.length - delivered) / sentAt.length, delivered, duplicates, p50AddedMs: pct(0.5), p99AddedMs: pct(0.99) }
}
