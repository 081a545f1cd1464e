import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { dropCount, freeUdpPort, makeMeshDir, startRelay, udpSink, waitFor, type RelayProcess } from '../helpers/relay-process.js'

// Three real relay processes on real sockets: a - b - c, a tunnel in at a and out at c.
let relays: RelayProcess[] = []
let tunnelPort = 0
let target: Awaited<ReturnType<typeof udpSink>>

before(async () => {
  const mesh = await makeMeshDir(['a', 'b', 'c'], [['a', 'b'], ['b', 'c']])
  target = await udpSink()
  // The target echoes every datagram back with a prefix, like a UDP server answering a client.
  target.socket.on('message', (m, r) => { target.socket.send(Buffer.concat([Buffer.from('re:'), m]), r.port, r.address) })
  tunnelPort = await freeUdpPort()
  relays = [
    await startRelay(mesh, 'a', ['--tunnel', `127.0.0.1:${tunnelPort}@c=127.0.0.1:${target.port}`]),
    await startRelay(mesh, 'b'),
    await startRelay(mesh, 'c', ['--egress-allow', `127.0.0.1/32:${target.port}`, '--payload-budget', '1000'])
  ]
})

after(async () => {
  for (const r of relays) await r.stop()
  target.socket.close()
})

async function client (): Promise<{ socket: dgram.Socket, got: string[] }> {
  const socket = dgram.createSocket('udp4')
  const got: string[] = []
  socket.on('message', (m) => { got.push(m.toString()) })
  await new Promise<void>((resolve) => { socket.bind(0, '127.0.0.1', resolve) })
  return { socket, got }
}

test('a tunnel carries datagrams across a three-relay chain and replies come back to each sender', async () => {
  const c1 = await client()
  const c2 = await client()
  for (let i = 0; i < 50; i++) {
    c1.socket.send(`one-${i}`, tunnelPort, '127.0.0.1')
    c2.socket.send(`two-${i}`, tunnelPort, '127.0.0.1')
  }
  await waitFor(() => c1.got.length === 50 && c2.got.length === 50, 30_000, 'replies')
  assert.deepEqual(new Set(c1.got), new Set(Array.from({ length: 50 }, (_, i) => `re:one-${i}`)))
  assert.deepEqual(new Set(c2.got), new Set(Array.from({ length: 50 }, (_, i) => `re:two-${i}`)))
  c1.socket.close(); c2.socket.close()
  const [ma, mb, mc] = await Promise.all(relays.map(async (r) => await r.metrics()))
  // b forwarded both directions; a and c delivered to their tunnel service.
  assert.ok((mb.get('relaymesh_packets_forwarded_total') ?? 0) >= 200)
  assert.ok((mc.get('relaymesh_packets_delivered_total{service="tunnel"}') ?? 0) >= 100)
  assert.ok((ma.get('relaymesh_packets_delivered_total{service="tunnel"}') ?? 0) >= 100)
  for (const m of [ma, mb, mc]) assert.equal(dropCount(m, 'bad_auth') + dropCount(m, 'malformed') + dropCount(m, 'replay'), 0)
})

test('each relay probes its neighbours and exports per-link metrics', async () => {
  await waitFor(async () => (await relays[1].metrics()).get('relaymesh_link_up{peer="c"}') === 1, 30_000, 'b sees c up')
  const m = await relays[1].metrics()
  assert.equal(m.get('relaymesh_link_up{peer="a"}'), 1)
  const rtt = m.get('relaymesh_link_rtt_seconds{peer="a"}') ?? -1
  assert.ok(rtt > 0 && rtt < 0.05, `rtt ${rtt}`)
  assert.equal(m.get('relaymesh_link_loss_ratio{peer="a"}'), 0)
  assert.ok((m.get('relaymesh_link_jitter_seconds{peer="c"}') ?? -1) >= 0)
  // a has one neighbour, so exports no link to c.
  assert.equal((await relays[0].metrics()).get('relaymesh_link_up{peer="c"}'), undefined)
})

test('a datagram over the payload budget is dropped and counted as too_big, never fragmented', async () => {
  const c = await client()
  c.socket.send(Buffer.alloc(1201), tunnelPort, '127.0.0.1')
  await waitFor(async () => dropCount(await relays[0].metrics(), 'too_big') === 1, 30_000, 'too_big at a')
  // c's budget is 1,000 B: the target's 1,003-byte reply to a 1,000-byte datagram is too big there.
  c.socket.send(Buffer.alloc(1000), tunnelPort, '127.0.0.1')
  await waitFor(async () => dropCount(await relays[2].metrics(), 'too_big') === 1, 30_000, 'too_big at c')
  assert.equal(c.got.length, 0)
  c.socket.close()
})

test('an egress relay refuses targets its --egress-allow list does not admit', async () => {
  const mesh2 = await makeMeshDir(['x', 'y'], [['x', 'y']])
  const t = await udpSink()
  const port = await freeUdpPort()
  const x = await startRelay(mesh2, 'x', ['--tunnel', `127.0.0.1:${port}@y=127.0.0.1:${t.port}`])
  const y = await startRelay(mesh2, 'y', ['--egress-allow', '127.0.0.1/32:1-100'])
  try {
    const c = await client()
    for (let i = 0; i < 5; i++) c.socket.send('nope', port, '127.0.0.1')
    await waitFor(async () => dropCount(await y.metrics(), 'egress_denied') === 5, 30_000, 'egress_denied')
    assert.equal(t.received.length, 0)
    c.socket.close()
  } finally {
    await x.stop(); await y.stop(); t.socket.close()
  }
})
