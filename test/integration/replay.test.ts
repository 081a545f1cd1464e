import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { OFF_TTL, OFF_TYPE, PacketType } from '../../src/wire/constants.js'
import {
  dropCount, freeUdpPort, makeMeshDir, startRelay, udpSink, waitFor, type MeshDir, type RelayProcess
} from '../helpers/relay-process.js'

// Three real relays a - b - c, with a tunnel in at a and out at c to a UDP sink. Relay a reads its
// own copy of the static mesh file in which b's address is a tap: a UDP proxy that records every
// packet a sends towards b and passes it on. The tap's recordings are genuine packets a built and
// tagged for its link to b, which the replay tests send again. (Window semantics in detail, and
// forged sources, are the data plane's unit tests and the fuzz test.)

let mesh: MeshDir
let meshForA: MeshDir
let a: RelayProcess | undefined
let b: RelayProcess
let c: RelayProcess
let sink: Awaited<ReturnType<typeof udpSink>>
let tap: dgram.Socket
const tapped: Buffer[] = []
let tunnelPort = 0
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

async function counters (): Promise<{ bReplay: number, bLoop: number, bBadAuth: number, cBadAuth: number, cReplay: number, cLoop: number, bForwarded: number, cDelivered: number }> {
  const [mb, mc] = await Promise.all([b.metrics(), c.metrics()])
  return {
    bReplay: dropCount(mb, 'replay'),
    bLoop: dropCount(mb, 'loop'),
    bBadAuth: dropCount(mb, 'bad_auth'),
    cBadAuth: dropCount(mc, 'bad_auth'),
    cReplay: dropCount(mc, 'replay'),
    cLoop: dropCount(mc, 'loop'),
    bForwarded: mb.get('relaymesh_packets_forwarded_total') ?? 0,
    cDelivered: mc.get('relaymesh_packets_delivered_total{service="tunnel"}') ?? 0
  }
}

test('captured packets sent again are dropped and never reach the target: replays on their link, bad_auth on another link or with the TTL rewritten', async () => {
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
  // The link tag covers the TTL: a copy with it rewritten is not a's.
  const reTtl = captured.map((p) => { const q = Buffer.from(p); q[OFF_TTL] = 64; return q })
  await sendTo('b', reTtl)
  await waitFor(async () => { const k = await counters(); return k.bReplay - before.bReplay >= n && k.bBadAuth - before.bBadAuth >= n && k.cBadAuth - before.cBadAuth >= n }, 30_000, 'replay and bad_auth drops at b, bad_auth drops at c')
  await sleep(200)
  const afterReplay = await counters()
  assert.equal(afterReplay.bReplay - before.bReplay, n)
  assert.equal(afterReplay.bBadAuth - before.bBadAuth, n)
  assert.equal(afterReplay.bLoop - before.bLoop, 0)
  // Sent straight to c, a packet tagged for the link a → b fails c's tags: it is on the wrong link.
  assert.equal(afterReplay.cBadAuth - before.cBadAuth, n)
  assert.equal(afterReplay.cReplay - before.cReplay, 0)
  assert.equal(afterReplay.cLoop - before.cLoop, 0)
  assert.equal(afterReplay.bForwarded, before.bForwarded, 'b forwarded no replay')
  assert.equal(afterReplay.cDelivered, before.cDelivered, 'c delivered no replay')
  for (let i = 0; i < n; i++) assert.equal(sinkCount(`cap-${i}`), 1, `cap-${i} reached the target exactly once`)
  assert.equal(sink.received.length, n)
})

test('a restarted relay gets fresh sessions, and its packets from before the restart fail on every link', async () => {
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
  await waitFor(async () => (await counters()).bBadAuth - before.bBadAuth >= old.length, 30_000, 'bad_auth drops of pre-restart packets')
  await sleep(100)
  const k = await counters()
  assert.equal(k.bBadAuth - before.bBadAuth, old.length)
  assert.equal(k.bForwarded, before.bForwarded)
  for (let i = 0; i < 20; i++) assert.equal(sinkCount(`cap-${i}`), 1)
})
