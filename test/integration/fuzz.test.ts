import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { readFile } from 'node:fs/promises'
import { DataPlane } from '../../relay/data-plane.js'
import { encodeFrameHead } from '../../relay/tunnel/framing.js'
import { parseMeshKey } from '../../src/mesh-key.js'
import { Prng } from '../../src/prng.js'
import { writeLinkTag } from '../../src/wire/auth.js'
import { HEADER_LENGTH, OFF_SRC, OFF_SRC_BOOT, OFF_TTL, OFF_TYPE, OFF_VERSION, PacketType, Service } from '../../src/wire/constants.js'
import { putU32, writeHop } from '../../src/wire/header.js'
import { MeshKeyBook } from '../../src/wire/keys.js'
import { Originator } from '../../src/wire/originator.js'
import { REASON_NAMES, Reason } from '../../src/wire/reasons.js'
import { relayNumber } from '../../src/wire/relay-id.js'
import { sipKeyFromBytes } from '../../src/wire/siphash.js'
import {
  dropCount, freeUdpPort, makeMeshDir, startRelay, totalDrops, udpSink, waitFor, type MeshDir, type RelayProcess
} from '../helpers/relay-process.js'

// Fuzzes the middle relay b of a real a - b - c chain (wire v2) while a tunnel a → c carries valid
// traffic. The fuzzer is an insider: a data plane in this process, admitted by the mesh key, with
// real sessions to b (its link) and to c (end to end, through b). From its own genuine packets it
// makes forged (another link key), forged-source (another relay's number on its own link),
// cross-link (the key of its session with c, sent to b),
// truncated, extended, bit-flipped, v1, replayed, re-tagged duplicates, TTL-1 and looping
// (b's own source number) packets. Each kind's drop reason at b is known (docs/wire.md, "How a
// receiver rejects a packet"); the test holds b to them reason by reason, and to forwarding none.
// RELAYMESH_FUZZ_SEED=N repeats a run's sequence of mutations.

/** RELAYMESH_FUZZ_PACKETS=N runs a longer soak. */
const FUZZ_PACKETS = Number(process.env.RELAYMESH_FUZZ_PACKETS ?? 110_000)
/** Packets per burst; the next burst waits until b has counted this one (no kernel buffer drops). */
const BURST = 500
const VALID_PPS = 200
const SEEDS = 256
const SEED = Number(process.env.RELAYMESH_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))

let mesh: MeshDir
let relays: RelayProcess[] = []
let sink: Awaited<ReturnType<typeof udpSink>>
let seedSink: Awaited<ReturnType<typeof udpSink>>
let tunnelPort = 0
let socket: dgram.Socket | undefined

before(async () => {
  // The fuzzer is in the mesh file (a neighbour of b), so that c has a route back to it.
  mesh = await makeMeshDir(['a', 'b', 'c', 'fuzz'], [['a', 'b'], ['b', 'c'], ['fuzz', 'b']])
  sink = await udpSink()
  seedSink = await udpSink()
  tunnelPort = await freeUdpPort()
  relays = [
    await startRelay(mesh, 'a', ['--tunnel', `127.0.0.1:${tunnelPort}@c=127.0.0.1:${sink.port}`]),
    await startRelay(mesh, 'b'),
    await startRelay(mesh, 'c', ['--egress-allow', '127.0.0.1/32'])
  ]
})

after(async () => {
  for (const r of relays) await r.stop()
  for (const s of [sink?.socket, seedSink?.socket, socket]) s?.close()
})

test('a relay under 100,000+ forged, cross-link, truncated, extended, flipped, v1, replayed, duplicate, TTL-1 and looping v2 packets stays up, forwards none, counts every drop by reason and keeps carrying valid tunnel traffic', { timeout: 240_000 }, async () => {
  console.log(`fuzz seed ${SEED} (set RELAYMESH_FUZZ_SEED=${SEED} to repeat)`)
  const rng = new Prng(SEED)
  const int = (n: number): number => Math.floor(rng.next() * n)
  const bytes = (n: number): Buffer => { const x = Buffer.allocUnsafe(n); for (let i = 0; i < n; i++) x[i] = int(256); return x }
  const [a, b, c] = relays
  const bPort = mesh.ports.get('b') as number
  const self = relayNumber('fuzz')
  const numB = relayNumber('b')
  const numC = relayNumber('c')
  const numA = relayNumber('a')

  // The insider: a data plane on its own socket, neighbour of b, routing to c through b.
  const s = dgram.createSocket({ type: 'udp4', sendBufferSize: 4 * 1024 * 1024 })
  socket = s
  await new Promise<void>((resolve) => { s.bind(mesh.ports.get('fuzz') as number, '127.0.0.1', resolve) })
  const sent: Buffer[] = []
  const plane = new DataPlane(new MeshKeyBook(self, parseMeshKey(await readFile(mesh.keyFile, 'utf8'), mesh.keyFile)), {
    send: (buf, port, host) => { sent.push(Buffer.from(buf)); s.send(buf, port, host) },
    getSendQueueCount: () => s.getSendQueueCount()
  }, { self, boot: 1 + int(0xfffffffe) })
  s.on('message', (m, r) => { plane.receive(m, r.address, r.port) })
  const hopB = { id: 'b', number: numB, host: '127.0.0.1', port: bPort }
  plane.setRoutes([{ dst: numB, nextHop: hopB }, { dst: numC, nextHop: hopB }])
  plane.setNeighbours([{ number: numB, host: '127.0.0.1', port: bPort }])
  plane.start()
  const ticker = setInterval(() => { plane.tick() }, 250)
  await waitFor(() => plane.hasSession(numB), 30_000, 'a session with b')

  // Seeds: genuine packets through b to c's tunnel (a sink), and to b itself for a service b does
  // not run (unknown_service). Sent once; every later copy is something b has handled.
  const o = new Originator({ src: self, boot: plane.boot, micros: () => 0 })
  const prefix = encodeFrameHead({ host: '127.0.0.1', port: seedSink.port, family: 4 })
  for (let i = 0; i < SEEDS; i++) {
    const toC = Buffer.concat([prefix, Buffer.from(`seed-${i}-`), bytes(int(1000))])
    const p = o.begin(PacketType.DATA, numC, Service.TUNNEL, 1, 0, 0, toC.length)
    toC.copy(p, HEADER_LENGTH)
    plane.originate(p)
    const toB = bytes(int(200))
    const q = o.begin(PacketType.DATA, numB, Service.USER_MIN + 1, 1, 0, 0, toB.length)
    toB.copy(q, HEADER_LENGTH)
    plane.originate(q)
  }
  await waitFor(() => seedSink.received.length >= SEEDS, 30_000, 'the seeds delivered at c')
  await waitFor(async () => dropCount(await b.metrics(), 'unknown_service') >= SEEDS, 30_000, 'the seeds for b counted')
  const data = sent.filter((p) => p[OFF_TYPE] === PacketType.DATA)
  const transit = data.filter((p) => p.readUInt32BE(12) === numC)
  const forB = data.filter((p) => p.readUInt32BE(12) === numB)
  assert.equal(transit.length, SEEDS)
  assert.equal(forB.length, SEEDS)
  const linkB = plane.sessionWith(numB)?.current
  const linkC = plane.sessionWith(numC)?.current
  assert.ok(linkB !== undefined && linkC !== undefined, 'sessions with b and c')
  const sessB = plane.sessionWith(numB) as NonNullable<ReturnType<typeof plane.sessionWith>>
  const scratch = new Int32Array(4)
  const retag = (p: Buffer, key = linkB.linkTx): Buffer => { writeHop(p, self, sessB.linkSeqOut++); writeLinkTag(key, p, scratch); return p }
  const wrongKey = sipKeyFromBytes(bytes(16))

  // Valid traffic through the tunnel all along.
  const client = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => { client.bind(0, '127.0.0.1', resolve) })
  let validSent = 0
  const valid = setInterval(() => { client.send(`valid-${validSent++}`, tunnelPort, '127.0.0.1') }, 1000 / VALID_PPS)

  const expected = new Float64Array(REASON_NAMES.length)
  /** Flips land on MALFORMED, BAD_VERSION or BAD_AUTH, depending on the byte. */
  let authClass = 0
  const pick = (list: Buffer[]): Buffer => Buffer.from(list[int(list.length)])
  const make = (): Buffer => {
    switch (int(12)) {
      case 0: expected[Reason.REPLAY]++; return pick(data)
      case 1: { authClass++; const p = pick(data); const i = int(p.length); p[i] ^= 1 << int(8); return p }
      case 2: expected[Reason.MALFORMED]++; return pick(data).subarray(0, 1 + int(HEADER_LENGTH + 20))
      case 3: expected[Reason.MALFORMED]++; return Buffer.concat([pick(data), bytes(1 + int(40))])
      case 4: { expected[Reason.BAD_VERSION]++; const p = pick(data); p[OFF_VERSION] = 1; return p }
      case 5: expected[Reason.BAD_AUTH]++; return retag(pick(data), wrongKey)
      case 6: expected[Reason.BAD_AUTH]++; return retag(pick(data), linkC.linkTx)
      case 7: expected[Reason.LOOP]++; return retag(pick(transit))
      case 8: expected[Reason.REPLAY]++; return retag(pick(forB))
      case 9: { expected[Reason.TTL_EXPIRED]++; const p = pick(transit); p[OFF_TTL] = 1; return retag(p) }
      // Forged source: one of the fuzzer's own packets for b, claiming to come from relay a (with
      // a boot id of its choice), tagged properly for the fuzzer's own link. The seal is not a's.
      case 10: { expected[Reason.BAD_AUTH]++; const p = pick(forB); putU32(p, OFF_SRC, numA); putU32(p, OFF_SRC_BOOT, int(0xffffffff) + 1); return retag(p) }
      default: { expected[Reason.LOOP]++; const p = pick(transit); putU32(p, OFF_SRC, numB); return retag(p) }
    }
  }

  const before = await b.metrics()
  const forwardedBefore = before.get('relaymesh_packets_forwarded_total') ?? 0
  const rssBefore = await rss(b.proc.pid as number)
  let fuzzed = 0
  try {
    while (fuzzed < FUZZ_PACKETS) {
      const n = Math.min(BURST, FUZZ_PACKETS - fuzzed)
      for (let i = 0; i < n; i++) s.send(make(), bPort, '127.0.0.1')
      fuzzed += n
      await waitFor(async () => totalDrops(await b.metrics()) - totalDrops(before) >= fuzzed, 60_000, 'b to count the burst')
    }
  } finally {
    clearInterval(valid)
    clearInterval(ticker)
  }
  const m = await b.metrics()
  const got = (r: Reason): number => dropCount(m, REASON_NAMES[r] as never) - dropCount(before, REASON_NAMES[r] as never)
  const summary = Object.fromEntries(REASON_NAMES.map((name, r) => [name, got(r as Reason)]).filter(([, v]) => v !== 0))
  console.log(`fuzz: ${fuzzed} packets to b; drops by reason ${JSON.stringify(summary)}; flips ${authClass}`)
  assert.equal(totalDrops(m) - totalDrops(before), fuzzed, 'every fuzz packet dropped, each once')
  for (const r of [Reason.REPLAY, Reason.LOOP, Reason.TTL_EXPIRED]) assert.equal(got(r), expected[r], REASON_NAMES[r])
  assert.equal(got(Reason.MALFORMED) + got(Reason.BAD_VERSION) + got(Reason.BAD_AUTH),
    expected[Reason.MALFORMED] + expected[Reason.BAD_VERSION] + expected[Reason.BAD_AUTH] + authClass, 'malformed + bad_version + bad_auth')
  for (const r of [Reason.MALFORMED, Reason.BAD_VERSION, Reason.BAD_AUTH]) assert.ok(got(r) >= expected[r], REASON_NAMES[r])
  for (const r of [Reason.NO_ROUTE, Reason.QUEUE_FULL, Reason.UNKNOWN_SERVICE]) assert.equal(got(r), 0, REASON_NAMES[r])
  // b forwarded the valid tunnel traffic only: a's datagrams and c's nothing (the sink answers nothing).
  await waitFor(() => sink.received.length >= validSent, 30_000, 'every valid datagram at the sink')
  assert.ok((m.get('relaymesh_packets_forwarded_total') ?? 0) - forwardedBefore <= validSent + 50, 'b forwarded no fuzz packet')
  assert.equal(seedSink.received.length, SEEDS, 'no seed reached c twice')
  const rssAfter = await rss(b.proc.pid as number)
  console.log(`fuzz: b RSS ${rssBefore} kB before, ${rssAfter} kB after; ${validSent} valid datagrams carried`)
  client.close()
  for (const r of [a, b, c]) assert.equal(r.proc.exitCode, null, 'every relay still up')
})

async function rss (pid: number): Promise<number> {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))
  return m === null ? 0 : Number(m[1])
}
