import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseMeshKey } from '../../src/mesh-key.js'
import { PacketAuth } from '../../src/wire/auth.js'
import { encodePacket } from '../../src/wire/codec.js'
import { OFF_TTL, OFF_TYPE, PacketType, Service } from '../../src/wire/constants.js'
import { relayNumber } from '../../src/wire/relay-id.js'
import { encodeFrameHead } from '../../relay/tunnel/framing.js'
import {
  dropCount, freeUdpPort, makeMeshDir, startRelay, udpSink, waitFor, type MeshDir, type RelayProcess
} from '../helpers/relay-process.js'

// Three real relays a - b - c, with a tunnel in at a and out at c to a UDP sink. Relay a reads its
// own copy of the static mesh file in which b's address is a tap: a UDP proxy that records every
// packet a sends towards b and passes it on. The tap's recordings are genuine packets a built and
// signed, which the replay tests send again. Packets the tests build themselves with the mesh key
// use source numbers of relays that are not running, one per test, so no test moves another's
// replay window.

let mesh: MeshDir
let meshForA: MeshDir
let a: RelayProcess | undefined
let b: RelayProcess
let c: RelayProcess
let sink: Awaited<ReturnType<typeof udpSink>>
let tap: dgram.Socket
const tapped: Buffer[] = []
let tunnelPort = 0
let auth: PacketAuth
let sender: dgram.Socket

before(async () => {
  mesh = await makeMeshDir(['a', 'b', 'c'], [['a', 'b'], ['b', 'c']])
  sink = await udpSink()
  tunnelPort = await freeUdpPort()
  const bPort = mesh.ports.get('b') as number
  tap = dgram.createSocket('udp4')
  const aPort = mesh.ports.get('a') as number
  tap.on('message', (m, r) => {
    // b answers a's probes to the address they came from, the tap: pass those back to a.
    if (r.port === bPort) { tap.send(m, aPort, '127.0.0.1'); return }
    // Only tunnel data is recorded: link-local packets (probes) are not under test.
    if (m.length > OFF_TYPE && m[OFF_TYPE] === PacketType.DATA) tapped.push(Buffer.from(m))
    tap.send(m, bPort, '127.0.0.1')
  })
  await new Promise<void>((resolve) => { tap.bind(0, '127.0.0.1', resolve) })
  const doc = JSON.parse(await readFile(mesh.meshFile, 'utf8')) as { relays: Array<{ id: string, address: string }> }
  for (const r of doc.relays) if (r.id === 'b') r.address = `127.0.0.1:${tap.address().port}`
  const tapFile = join(mesh.dir, 'mesh-for-a.json')
  await writeFile(tapFile, JSON.stringify(doc))
  meshForA = { ...mesh, meshFile: tapFile }
  auth = new PacketAuth(parseMeshKey(await readFile(mesh.keyFile, 'utf8'), mesh.keyFile))
  sender = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => { sender.bind(0, '127.0.0.1', resolve) })
  b = await startRelay(mesh, 'b')
  c = await startRelay(mesh, 'c', ['--egress-allow', `127.0.0.1/32:${sink.port}`])
  a = await startRelay(meshForA, 'a', ['--tunnel', `127.0.0.1:${tunnelPort}@c=127.0.0.1:${sink.port}`])
})

after(async () => {
  for (const r of [a, b, c]) if (r !== undefined) await r.stop()
  for (const s of [tap, sender, sink?.socket]) s?.close()
})

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** How many datagrams the sink got whose text is `text`. */
function sinkCount (text: string): number {
  let n = 0
  for (const m of sink.received) if (m.toString() === text) n++
  return n
}

async function sendTo (relay: string, packets: Buffer[]): Promise<void> {
  const port = mesh.ports.get(relay) as number
  for (const p of packets) {
    await new Promise<void>((resolve, reject) => { sender.send(p, port, '127.0.0.1', (err) => { if (err != null) reject(err); else resolve() }) })
  }
}

/** A tunnel packet from `src` to c for the sink, as the ingress relay would build it. */
function tunnelPacket (src: string, epoch: number, seq: number, text: string): Buffer {
  const payload = Buffer.concat([encodeFrameHead({ host: '127.0.0.1', port: sink.port, family: 4 }), Buffer.from(text)])
  return encodePacket({ type: PacketType.DATA, service: Service.TUNNEL, src: relayNumber(src), dst: relayNumber('c'), flow: 7, epoch, seq }, payload, auth)
}

async function counters (): Promise<{ bReplay: number, bLoop: number, cReplay: number, cLoop: number, bForwarded: number, cDelivered: number }> {
  const [mb, mc] = await Promise.all([b.metrics(), c.metrics()])
  return {
    bReplay: dropCount(mb, 'replay'),
    bLoop: dropCount(mb, 'loop'),
    cReplay: dropCount(mc, 'replay'),
    cLoop: dropCount(mc, 'loop'),
    bForwarded: mb.get('relaymesh_packets_forwarded_total') ?? 0,
    cDelivered: mc.get('relaymesh_packets_delivered_total{service="tunnel"}') ?? 0
  }
}

test('captured packets sent again are dropped and never reach the target: as loops at a transit relay, as replays at the egress', async () => {
  const client = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => { client.bind(0, '127.0.0.1', resolve) })
  const n = 20
  for (let i = 0; i < n; i++) client.send(`cap-${i}`, tunnelPort, '127.0.0.1')
  await waitFor(() => sink.received.length >= n, 30_000, 'the first delivery of every datagram')
  client.close()
  assert.equal(tapped.length, n, 'the tap saw one packet per datagram')
  const captured = tapped.slice()
  const before = await counters()

  await sendTo('b', captured)
  await sendTo('c', captured)
  // The tag is computed with the TTL zeroed, so a rewritten TTL still verifies: it must still be refused.
  const reTtl = captured.map((p) => { const q = Buffer.from(p); q[OFF_TTL] = 64; return q })
  await sendTo('b', reTtl)
  // In transit a copy cannot be told from a packet come back round a loop (docs/wire.md).
  await waitFor(async () => { const k = await counters(); return k.bLoop - before.bLoop >= 2 * n && k.cReplay - before.cReplay >= n }, 30_000, 'loop drops at b and replay drops at c')
  await sleep(200)
  const afterReplay = await counters()
  assert.equal(afterReplay.bLoop - before.bLoop, 2 * n)
  assert.equal(afterReplay.bReplay - before.bReplay, 0)
  assert.equal(afterReplay.cReplay - before.cReplay, n)
  assert.equal(afterReplay.cLoop - before.cLoop, 0)
  assert.equal(afterReplay.bForwarded, before.bForwarded, 'b forwarded no replay')
  assert.equal(afterReplay.cDelivered, before.cDelivered, 'c delivered no replay')
  for (let i = 0; i < n; i++) assert.equal(sinkCount(`cap-${i}`), 1, `cap-${i} reached the target exactly once`)
  assert.equal(sink.received.length, n)
})

test('a restarted source relay starts a fresh window, and its packets from before the restart stay replays', async () => {
  const old = tapped.slice()
  assert.ok(old.length > 0)
  await (a as RelayProcess).stop()
  a = await startRelay(meshForA, 'a', ['--tunnel', `127.0.0.1:${tunnelPort}@c=127.0.0.1:${sink.port}`])
  const client = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => { client.bind(0, '127.0.0.1', resolve) })
  for (let i = 0; i < 10; i++) client.send(`restart-${i}`, tunnelPort, '127.0.0.1')
  await waitFor(() => Array.from({ length: 10 }, (_, i) => sinkCount(`restart-${i}`)).every((k) => k === 1), 30_000, 'delivery after restart')
  client.close()
  const before = await counters()
  await sendTo('b', old)
  await waitFor(async () => (await counters()).bReplay - before.bReplay >= old.length, 30_000, 'replay drops of pre-restart packets')
  await sleep(100)
  const k = await counters()
  assert.equal(k.bReplay - before.bReplay, old.length)
  assert.equal(k.bForwarded, before.bForwarded)
  for (let i = 0; i < 20; i++) assert.equal(sinkCount(`cap-${i}`), 1)
})

test('packets reordered within the window are all delivered, and only their duplicates are replays', async () => {
  const epoch = 1_700_000_000
  const pkts = [10, 12, 11].map((seq) => tunnelPacket('src-reorder', epoch, seq, `reorder-${seq}`))
  const before = await counters()
  await sendTo('b', pkts)
  await waitFor(() => [10, 11, 12].every((s) => sinkCount(`reorder-${s}`) === 1), 30_000, 'reordered delivery')
  await sendTo('b', [pkts[2], pkts[0]])
  await waitFor(async () => (await counters()).bLoop - before.bLoop >= 2, 30_000, 'duplicate drops')
  await sleep(100)
  const k = await counters()
  assert.equal(k.bLoop - before.bLoop, 2, 'a duplicate in transit counts as a loop')
  assert.equal(k.bReplay - before.bReplay, 0)
  assert.equal(k.bForwarded - before.bForwarded, 3)
  for (const s of [10, 11, 12]) assert.equal(sinkCount(`reorder-${s}`), 1)
})

test('a packet 4096 or more behind the newest from its source is a replay even if never seen, and 4095 behind is accepted', async () => {
  const epoch = 1_700_000_000
  const top = 100_000
  const before = await counters()
  await sendTo('b', [tunnelPacket('src-window', epoch, top, 'window-top')])
  await waitFor(() => sinkCount('window-top') === 1, 30_000, 'the newest packet')
  await sendTo('b', [
    tunnelPacket('src-window', epoch, top - 4096, 'window-too-old'),
    tunnelPacket('src-window', epoch, top - 10_000, 'window-far-too-old'),
    tunnelPacket('src-window', epoch, top - 4095, 'window-oldest-inside')
  ])
  await waitFor(() => sinkCount('window-oldest-inside') === 1, 30_000, 'the oldest packet inside the window')
  await waitFor(async () => (await counters()).bReplay - before.bReplay >= 2, 30_000, 'replay drops of old packets')
  await sleep(100)
  const k = await counters()
  assert.equal(k.bReplay - before.bReplay, 2)
  assert.equal(k.bForwarded - before.bForwarded, 2)
  assert.equal(sinkCount('window-too-old'), 0)
  assert.equal(sinkCount('window-far-too-old'), 0)
})

test('a newer boot epoch from the same source starts a fresh window, and the older epoch becomes a replay', async () => {
  const e1 = 1_700_000_000
  const e2 = e1 + 5
  const before = await counters()
  await sendTo('b', [tunnelPacket('src-epoch', e1, 50_000, 'epoch1-50000')])
  await waitFor(() => sinkCount('epoch1-50000') === 1, 30_000, 'epoch 1 packet')
  // Lower sequences than anything seen, but a newer epoch: accepted.
  await sendTo('b', [tunnelPacket('src-epoch', e2, 1, 'epoch2-1'), tunnelPacket('src-epoch', e2, 2, 'epoch2-2')])
  await waitFor(() => sinkCount('epoch2-1') === 1 && sinkCount('epoch2-2') === 1, 30_000, 'epoch 2 packets')
  await sendTo('b', [
    tunnelPacket('src-epoch', e1, 50_001, 'epoch1-50001'), // older epoch, new sequence
    tunnelPacket('src-epoch', e2, 1, 'epoch2-1') // same epoch, seen sequence: a loop in transit
  ])
  await waitFor(async () => { const k = await counters(); return k.bReplay - before.bReplay >= 1 && k.bLoop - before.bLoop >= 1 }, 30_000, 'replay and loop drops')
  await sendTo('b', [tunnelPacket('src-epoch', e2, 3, 'epoch2-3')])
  await waitFor(() => sinkCount('epoch2-3') === 1, 30_000, 'epoch 2 continues')
  await sleep(100)
  const k = await counters()
  assert.equal(k.bReplay - before.bReplay, 1)
  assert.equal(k.bLoop - before.bLoop, 1)
  assert.equal(k.bForwarded - before.bForwarded, 4)
  assert.equal(sinkCount('epoch1-50001'), 0)
  assert.equal(sinkCount('epoch2-1'), 1)
})

test('a copy with TTL 1 sent ahead of a packet expires at the transit relay without using up its sequence, so the packet still arrives', async () => {
  const p = tunnelPacket('src-ttl', 1_700_000_000, 77, 'ttl-real')
  const early = Buffer.from(p)
  early[OFF_TTL] = 1 // the TTL is outside the tag: the copy verifies
  const mb0 = await b.metrics()
  await sendTo('b', [early])
  await waitFor(async () => dropCount(await b.metrics(), 'ttl_expired') - dropCount(mb0, 'ttl_expired') >= 1, 15_000, 'the copy to expire at b')
  await sendTo('b', [p])
  await waitFor(() => sinkCount('ttl-real') === 1, 15_000, 'the real packet to reach the target')
  const mb = await b.metrics()
  assert.equal(dropCount(mb, 'ttl_expired') - dropCount(mb0, 'ttl_expired'), 1)
  assert.equal(dropCount(mb, 'loop') - dropCount(mb0, 'loop'), 0)
  assert.equal(dropCount(mb, 'replay') - dropCount(mb0, 'replay'), 0)
})
