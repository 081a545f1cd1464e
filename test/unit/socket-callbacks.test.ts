import { test } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { Prober } from '../../prober/prober.js'
import { microsOf, systemClock } from '../../src/clock.js'
import { silentLogger } from '../../src/logging.js'
import { ImpairProxy } from '../../src/transport/impair/udp-proxy.js'
import { connectUdp, createUdpSocket } from '../../src/transport/udp.js'
import { HEADER_LENGTH, Originator, PacketHeader, PacketType, Reason, Service, parseHeader, relayNumber } from '../../src/wire/index.js'
import { PROBE_PAYLOAD } from '../../src/wire/constants.js'

// A datagram's source port can be 0 (a raw socket can send one). Answering it with node:dgram
// throws ERR_SOCKET_BAD_PORT synchronously, from inside a socket or timer callback, which takes
// the daemon down. Every place that answers a sender's address must refuse port 0 instead.

test('a probe from UDP port 0 is dropped as malformed, not answered', () => {
  const socket = dgram.createSocket('udp4')
  const drops: Reason[] = []
  const o = new Originator({ src: relayNumber('a'), boot: 1, micros: microsOf(systemClock) })
  // The prober's transport sends with a real socket, as the relay's data plane does.
  const prober = new Prober({
    clock: systemClock,
    logger: silentLogger(),
    transport: {
      begin: (type, dst, len) => o.begin(type, dst, Service.LINK, 0, 0, 0, len, 1),
      send: (buf, host, port) => { socket.send(buf, port, host) },
      countDrop: (r) => { drops.push(r) }
    }
  }, { neighbours: [{ id: 'b', number: relayNumber('b'), host: '127.0.0.1', port: 9 }] })
  try {
    const peer = new Originator({ src: relayNumber('b'), boot: 2, micros: microsOf(systemClock) })
    const probe = peer.begin(PacketType.PROBE, relayNumber('a'), Service.LINK, 0, 0, 0, PROBE_PAYLOAD, 1)
    probe.fill(0, HEADER_LENGTH)
    const h = new PacketHeader()
    assert.equal(parseHeader(probe, probe.length, h), Reason.OK)
    prober.handle(h, probe, '127.0.0.1', 0)
    assert.deepEqual(drops, [Reason.MALFORMED])
  } finally {
    prober.stop()
    socket.close()
  }
})

test('the impair proxy ignores a client on UDP port 0 and keeps serving others', async () => {
  const target = dgram.createSocket('udp4')
  const got: string[] = []
  target.on('message', (m, r) => { got.push(m.toString()); target.send(m, r.port, r.address) })
  await new Promise<void>((resolve) => { target.bind(0, '127.0.0.1', resolve) })
  const proxy = new ImpairProxy({ logger: silentLogger() }, {
    listen: { host: '127.0.0.1', port: 0, family: 4 },
    to: { host: '127.0.0.1', port: target.address().port, family: 4 }
  })
  await proxy.start()
  const client = dgram.createSocket('udp4')
  const replies: string[] = []
  client.on('message', (m) => { replies.push(m.toString()) })
  await new Promise<void>((resolve) => { client.bind(0, '127.0.0.1', resolve) })
  try {
    // What the socket's handler does for a datagram from port 0 (node:dgram cannot send one).
    ;(proxy as unknown as { fromClient: (m: Buffer, h: string, p: number) => void }).fromClient(Buffer.from('from-port-0'), '127.0.0.1', 0)
    client.send('hello', (proxy.bound as { port: number }).port, '127.0.0.1')
    const end = Date.now() + 10_000
    while (replies.length === 0 && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.deepEqual(replies, ['hello'])
    assert.deepEqual(got, ['hello'])
  } finally {
    proxy.stop(); client.close(); target.close()
  }
})

test('connectUdp rejects when the connect fails instead of resolving on an unconnected socket', async () => {
  const s = createUdpSocket({ family: 4 })
  try {
    await assert.rejects(connectUdp(s, { host: '127.255.255.255', port: 50000 }), /connect UDP 127\.255\.255\.255:50000/)
  } finally {
    s.close()
  }
})
