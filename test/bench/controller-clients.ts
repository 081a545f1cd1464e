/**
 * One client process of bench:controller (test/bench/controller.ts): runs many relays' control
 * clients, each the real ControlClient (relay/control-client.ts) over its own QUIC connection, with
 * synthetic links in place of a prober. Started by the bench with an IPC channel (ToClients /
 * FromClients in controller-mesh.ts).
 *
 * Each relay reports the neighbours the controller gave it, every DEFAULT_REPORT_INTERVAL_MS (the
 * prober's schedule, phases spread at random), with figures from SyntheticMesh, and at once when
 * the bench sets one of its links down or up (trigger 'state'), as the prober does on a state
 * change. Table messages are applied to a table the client sends back on register, as a relay's
 * forwarding table is, and their arrival times recorded: ControlClient acks each one right after
 * its onTable handler returns.
 *
 * Connects are paced: at most `maxPending` relays of this process wait for the leader's welcome at
 * once. With a second ControlClient per relay, the same reports go to the bare QUIC sink.
 */
import dgram from 'node:dgram'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { systemClock } from '../../src/clock.js'
import { addressCheckNonce } from '../../src/control/address-check.js'
import type { NeighbourEntry } from '../../src/control/messages.js'
import { parseIdentity, parsePublicKey } from '../../src/identity.js'
import { createLogger, silentLogger } from '../../src/logging.js'
import type { HostPort } from '../../src/transport/address.js'
import { buildReport } from '../../prober/reporter.js'
import { DEFAULT_REPORT_INTERVAL_MS } from '../../prober/constants.js'
import type { LinkStatus } from '../../prober/prober.js'
import { ControlClient } from '../../relay/control-client.js'
import type { IdRoute } from '../../relay/forwarding-table.js'
import { hostMonoMs, relayId, relayIndex, SyntheticMesh, type ClientStatus, type FromClients, type ToClients } from './controller-mesh.js'

interface SimRelay {
  index: number
  id: string
  client: ControlClient
  sink: ControlClient | undefined
  peers: string[]
  down: Set<string>
  table: Map<string, IdRoute>
  version: number
  seq: number
  gotTable: boolean
  /** Followed the leader at the last status: a drop since counts as a reconnect. */
  wasFollowing: boolean
  timer: NodeJS.Timeout | undefined
}

/** RELAYMESH_BENCH_CLIENT_LOG=debug shows what the clients' control channels do. */
const logger = process.env.RELAYMESH_BENCH_CLIENT_LOG === undefined ? silentLogger() : createLogger({ level: process.env.RELAYMESH_BENCH_CLIENT_LOG, pretty: false })
const relays: SimRelay[] = []
const tableEvents: Array<[number, number, number, number]> = []
const neighbourEvents: number[] = []
let mesh: SyntheticMesh
let status: ClientStatus = { type: 'status', started: 0, following: 0, withTable: 0, sinkConnected: 0, reportsSent: 0, degreeSum: 0, reconnects: 0, tableMessages: 0, neighbourChanges: 0, lastTableAt: 0, lastNeighboursAt: 0, loopDelayMaxMs: 0 }
let meshKey: Buffer
/** How long this process's own event loop is held up: a client that cannot run its timers and sockets in time fails handshakes. */
const loopDelay = monitorEventLoopDelay({ resolution: 10 })
loopDelay.enable()
/** With --identity: the relays' identities (from `firstIndex` on) and the controller's key they pin. */
let identities: { relays: string[], controller: string } | undefined
let firstIndex = 0

function send (m: FromClients): void { process.send?.(m) }

function links (r: SimRelay): LinkStatus[] {
  const samples = r.seq * 5
  return r.peers.map((peer) => {
    const rtt = mesh.rttMs(r.index, relayIndex(peer))
    // A down link reports loss 1, as a down link's estimate has it (prober/link-monitor.ts).
    return r.down.has(peer)
      ? { peer, state: 'down', rttMs: rtt, jitterMs: 1, loss: 1, lossShort: 1, lossReverse: 1, samples }
      : { peer, state: 'up', rttMs: rtt, jitterMs: 0.5 + (rtt % 1), loss: 0, lossShort: 0, lossReverse: 0, samples }
  })
}

function report (r: SimRelay, trigger: 'schedule' | 'state'): void {
  const rep = buildReport(r.id, ++r.seq, trigger, links(r))
  r.client.sendReport(rep)
  r.sink?.sendReport(rep)
  status.reportsSent++
}

/**
 * The relay's stand-in for a mesh socket: the controller sends its UDP address check here, and the
 * nonce goes back over the control channel as a relay's data plane would send it.
 */
async function meshSocket (r: () => SimRelay): Promise<{ socket: dgram.Socket, port: number }> {
  const socket = dgram.createSocket('udp4')
  socket.on('message', (m) => {
    const nonce = addressCheckNonce(m)
    if (nonce !== undefined) r().client.answerAddressCheck(nonce)
  })
  await new Promise<void>((resolve) => { socket.bind(0, '127.0.0.1', resolve) })
  return { socket, port: socket.address().port }
}

function makeRelay (index: number, controller: HostPort, port: number): SimRelay {
  const id = relayId(index)
  const r: SimRelay = { index, id, client: undefined as unknown as ControlClient, sink: undefined, peers: [], down: new Set(), table: new Map(), version: 0, seq: 0, gotTable: false, wasFollowing: false, timer: undefined }
  r.client = new ControlClient({ clock: systemClock, logger }, {
    id,
    // Never probed (the clients probe nothing), but answers the controller's address check.
    advertise: { host: '127.0.0.1', port, family: 4 },
    controllers: [controller],
    meshKey,
    identity: identities === undefined ? undefined : { own: parseIdentity(identities.relays[index - firstIndex], id), controllerKeys: [parsePublicKey(identities.controller, 'controller')] }
  }, {
    current: () => ({ version: r.version, table: r.table }),
    onNeighbours: (list: NeighbourEntry[]) => {
      const peers = list.map((n) => n.id)
      // The same set again (a re-register after a reconnect) changes no link.
      if (peers.join() === r.peers.join()) return
      r.peers = peers
      const t = hostMonoMs()
      neighbourEvents.push(t)
      status.lastNeighboursAt = t
      status.neighbourChanges++
    },
    onTable: (m) => {
      for (const [d, e] of Object.entries(m.upserts)) r.table.set(d, { nextHop: e.next_hop, backup: e.backup })
      for (const d of m.removals) r.table.delete(d)
      r.version = m.version
      const t = hostMonoMs()
      tableEvents.push([index, m.version, m.round, t])
      status.lastTableAt = t
      status.tableMessages++
      r.gotTable = true
    }
  })
  return r
}

function startReporting (r: SimRelay): void {
  // Phases spread over the interval, as relays started at different times have them.
  setTimeout(() => {
    report(r, 'schedule')
    r.timer = setInterval(() => { report(r, 'schedule') }, DEFAULT_REPORT_INTERVAL_MS)
  }, Math.random() * DEFAULT_REPORT_INTERVAL_MS)
}

/** Starts the relays [first, first+count) with at most `maxPending` waiting for a welcome. */
async function startAll (first: number, count: number, controller: HostPort, maxPending: number): Promise<void> {
  const pending = new Set<SimRelay>()
  for (let i = first; i < first + count; i++) {
    while (pending.size >= maxPending) {
      await new Promise((resolve) => setTimeout(resolve, 5))
      for (const p of pending) {
        if (p.client.leaderAddress !== undefined) { pending.delete(p); startReporting(p) }
      }
    }
    let r: SimRelay | undefined
    const { port } = await meshSocket(() => r as SimRelay)
    r = makeRelay(i, controller, port)
    relays.push(r)
    pending.add(r)
    r.client.start()
    status.started++
  }
  while (pending.size > 0) {
    await new Promise((resolve) => setTimeout(resolve, 5))
    for (const p of pending) if (p.client.leaderAddress !== undefined) { pending.delete(p); startReporting(p) }
  }
}

/** A second control client per relay, to the sink, paced like the first. */
async function startSinks (sink: HostPort, maxPending: number): Promise<void> {
  const pending = new Set<ControlClient>()
  for (const r of relays) {
    while (pending.size >= maxPending) {
      await new Promise((resolve) => setTimeout(resolve, 5))
      for (const c of pending) if (c.connected > 0) pending.delete(c)
    }
    r.sink = new ControlClient({ clock: systemClock, logger }, {
      id: r.id, advertise: { host: '127.0.0.1', port: 10_000 + r.index, family: 4 }, controllers: [sink], meshKey
    }, { current: () => ({ version: 0, table: new Map() }), onNeighbours: () => {}, onTable: () => {} })
    r.sink.start()
    pending.add(r.sink)
  }
}

function updateStatus (): void {
  let following = 0; let withTable = 0; let sinkConnected = 0; let degreeSum = 0
  let reconnects = status.reconnects
  for (const r of relays) {
    const f = r.client.leaderAddress !== undefined
    if (f) following++
    else if (r.wasFollowing) reconnects++
    r.wasFollowing = f
    if (r.gotTable) withTable++
    if (r.sink !== undefined && r.sink.connected > 0) sinkConnected++
    degreeSum += r.peers.length
  }
  status = { ...status, following, withTable, sinkConnected, degreeSum, reconnects, loopDelayMaxMs: loopDelay.max / 1e6 }
  send(status)
}

function tablesDump (): FromClients {
  const n = total
  const rows: Array<[number, string]> = relays.map((r) => {
    const next = new Int16Array(n).fill(-1)
    for (const [d, e] of r.table) next[relayIndex(d)] = relayIndex(e.nextHop)
    return [r.index, Buffer.from(next.buffer).toString('base64')]
  })
  return { type: 'tables', rows }
}

let total = 0
let maxPending = 4
let statusTimer: NodeJS.Timeout | undefined

async function stop (): Promise<void> {
  if (statusTimer !== undefined) clearInterval(statusTimer)
  for (const r of relays) if (r.timer !== undefined) clearInterval(r.timer)
  await Promise.race([
    Promise.all(relays.flatMap((r) => [r.client.stop(), r.sink?.stop()])),
    new Promise((resolve) => setTimeout(resolve, 3000))
  ])
  process.exit(0)
}

process.on('message', (m: ToClients) => {
  switch (m.type) {
    case 'init':
      total = m.total
      mesh = new SyntheticMesh(m.total, m.seed)
      meshKey = Buffer.from(m.meshKey, 'base64')
      identities = m.identities
      firstIndex = m.first
      statusTimer = setInterval(updateStatus, 200)
      maxPending = m.maxPending
      void startAll(m.first, m.count, m.controller, m.maxPending)
      return
    case 'sink':
      void startSinks(m.sink, maxPending)
      return
    case 'link': {
      const r = relays.find((x) => x.id === m.id)
      if (r === undefined) return
      if (m.up) r.down.delete(m.peer); else r.down.add(m.peer)
      const t = hostMonoMs()
      report(r, 'state')
      send({ type: 'sent', t })
      return
    }
    case 'events':
      send({ type: 'events', tables: tableEvents.filter((e) => e[3] >= m.since), neighbours: neighbourEvents.filter((t) => t >= m.since) })
      return
    case 'tables':
      send(tablesDump())
      return
    case 'stop':
      void stop()
  }
})
// The bench gone (even by SIGKILL) closes the channel: end with it.
process.on('disconnect', () => { void stop() })
