import { test } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { dropCount, freeUdpPort, makeMeshDir, startRelay, udpSink, waitFor } from '../helpers/relay-process.js'

// Real relay processes x - y: tunnels in at x, out at y.

async function client (): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => { socket.bind(0, '127.0.0.1', resolve) })
  return socket
}

test('an egress relay given broadcast, multicast and unspecified targets keeps running, counts egress_denied and still forwards other sessions', async () => {
  const mesh = await makeMeshDir(['x', 'y'], [['x', 'y']])
  const sink = await udpSink()
  // 127.255.255.255 once crashed the egress: its connect failed, and the send that followed threw.
  const bad = ['127.255.255.255:50000', '224.0.0.1:50000', '0.0.0.0:50000', '[::]:50000', '[ff02::1]:50000', '[::ffff:127.255.255.255]:50000']
  const badPorts: number[] = []
  const args: string[] = []
  for (const target of bad) {
    const p = await freeUdpPort()
    badPorts.push(p)
    args.push('--tunnel', `127.0.0.1:${p}@y=${target}`)
  }
  const goodPort = await freeUdpPort()
  args.push('--tunnel', `127.0.0.1:${goodPort}@y=127.0.0.1:${sink.port}`)
  const x = await startRelay(mesh, 'x', args)
  // Everything allowed: only the egress's own refusals stand between a packet and the target.
  const y = await startRelay(mesh, 'y', ['--egress-allow', '0.0.0.0/0', '--egress-allow', '[::/0]'])
  const c = await client()
  try {
    for (const p of badPorts) for (let i = 0; i < 3; i++) c.send(`bad-${i}`, p, '127.0.0.1')
    await waitFor(async () => dropCount(await y.metrics(), 'egress_denied') === bad.length * 3, 10_000, 'egress_denied at y')
    for (let i = 0; i < 5; i++) c.send(`good-${i}`, goodPort, '127.0.0.1')
    await waitFor(() => sink.received.length === 5, 10_000, 'the good tunnel to deliver')
    assert.equal(y.proc.exitCode, null, `y exited: ${y.stderr()}`)
    assert.equal(y.proc.signalCode, null)
    assert.match(y.stderr(), /tunnel target refused by egress policy/)
    assert.deepEqual(sink.received.map(String), [0, 1, 2, 3, 4].map((i) => `good-${i}`))
  } finally {
    c.close(); sink.socket.close()
    const codes = [await y.stop(), await x.stop()]
    assert.deepEqual(codes, [0, 0], 'both relays ran until stopped')
  }
})

test('a tunnel takes datagrams only from --tunnel-allow-source senders, at most --tunnel-source-rate of them', async () => {
  const mesh = await makeMeshDir(['x', 'y'], [['x', 'y']])
  const sink = await udpSink()
  const p1 = await freeUdpPort()
  const x = await startRelay(mesh, 'x', ['--tunnel', `127.0.0.1:${p1}@y=127.0.0.1:${sink.port}`, '--tunnel-allow-source', '10.0.0.0/8'])
  const mesh2 = await makeMeshDir(['v', 'w'], [['v', 'w']])
  const p2 = await freeUdpPort()
  const v = await startRelay(mesh2, 'v', ['--tunnel', `127.0.0.1:${p2}@w=127.0.0.1:${sink.port}`, '--tunnel-source-rate', '20'])
  const y = await startRelay(mesh, 'y', ['--egress-allow', `127.0.0.1/32:${sink.port}`])
  const w = await startRelay(mesh2, 'w', ['--egress-allow', `127.0.0.1/32:${sink.port}`])
  const c = await client()
  try {
    for (let i = 0; i < 5; i++) c.send('not-allowed', p1, '127.0.0.1')
    await waitFor(async () => dropCount(await x.metrics(), 'egress_denied') === 5, 10_000, 'egress_denied at x')
    const n = 300
    for (let i = 0; i < n; i++) c.send(`burst-${i}`, p2, '127.0.0.1')
    // Every datagram is either carried or counted; the burst is well over one second's worth.
    await waitFor(async () => sink.received.length + dropCount(await v.metrics(), 'queue_full') === n, 10_000, 'the burst to be accounted for')
    assert.ok(sink.received.length >= 20, `carried ${sink.received.length}`)
    assert.ok(sink.received.length < n, `carried ${sink.received.length}`)
    assert.ok(!sink.received.map(String).includes('not-allowed'))
  } finally {
    c.close(); sink.socket.close()
    for (const r of [x, y, v, w]) await r.stop()
  }
})
