import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { join } from 'node:path'
import { Capture, tcpdumpUnavailable } from '../helpers/capture.js'
import { freeUdpPort, makeMeshDir, startRelay, udpSink, waitFor, type RelayProcess } from '../helpers/relay-process.js'

// Payload confidentiality on the wire (docs/security.md): tcpdump on loopback records the mesh
// hops of a tunnel flow a → b → c whose every datagram carries a marker. With the payload AEAD
// (the default) the marker is never on the wire; with it switched off (the test-only
// RELAYMESH_TEST_CLEAR_PAYLOADS=1) the same capture finds it, so the test can fail.

const skip = tcpdumpUnavailable()
const MARKER = 'RELAYMESH-CAPTURE-MARKER-7f3a'
const running: RelayProcess[] = []

after(async () => { for (const r of running) await r.stop() })

async function captureFlow (clear: boolean): Promise<{ mesh: number, withMarker: number }> {
  const mesh = await makeMeshDir(['a', 'b', 'c'], [['a', 'b'], ['b', 'c']])
  const sink = await udpSink()
  const tunnelPort = await freeUdpPort()
  const env = clear ? { RELAYMESH_TEST_CLEAR_PAYLOADS: '1' } : undefined
  const relays = [
    await startRelay(mesh, 'a', ['--tunnel', `127.0.0.1:${tunnelPort}@c=127.0.0.1:${sink.port}`], env),
    await startRelay(mesh, 'b', [], env),
    await startRelay(mesh, 'c', ['--egress-allow', `127.0.0.1/32:${sink.port}`], env)
  ]
  running.push(...relays)
  const ports = ['a', 'b', 'c'].map((id) => mesh.ports.get(id) as number)
  // All UDP on loopback; only the mesh hops count below (the client's datagram into a's tunnel, and
  // c's out to the sink, are plain by design). The ports are picked here, not in tcpdump's filter:
  // a live `port N` filter on lo missed the DATA datagrams in our runs while passing the probes.
  const cap = await Capture.start(join(mesh.dir, 'mesh.pcap'), 'udp', ports[1])
  const client = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => { client.bind(0, '127.0.0.1', resolve) })
  try {
    const n = 150
    for (let i = 0; i < n; i++) {
      client.send(`${MARKER} datagram ${i}`, tunnelPort, '127.0.0.1')
      if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 5))
    }
    await waitFor(() => sink.received.length >= n, 30_000, 'the flow at the sink')
  } finally {
    client.close()
  }
  const seen = await cap.stop()
  for (const r of relays) await r.stop()
  sink.socket.close()
  // The flow's datagrams: a → b and b → c, DATA (type 1) and longer than a probe.
  const hops = seen.filter((d) => ports.includes(d.srcPort) && ports.includes(d.dstPort))
  const flow = hops.filter((d) => d.payload.length > 100 && d.payload[1] === 1)
  return { mesh: flow.length, withMarker: hops.filter((d) => d.payload.includes(MARKER)).length }
}

test('tcpdump sees the tunnel flow on every mesh hop, and never its payload in clear', { skip }, async () => {
  const sealed = await captureFlow(false)
  console.log(`capture, sealed: ${sealed.mesh} flow datagrams on the mesh hops, ${sealed.withMarker} with the marker`)
  assert.ok(sealed.mesh >= 100, `only ${sealed.mesh} flow datagrams captured`)
  assert.equal(sealed.withMarker, 0)
})

test('the same capture with the payload AEAD switched off finds the marker, so the test above can fail', { skip }, async () => {
  const clear = await captureFlow(true)
  console.log(`capture, clear: ${clear.mesh} flow datagrams on the mesh hops, ${clear.withMarker} with the marker`)
  assert.ok(clear.mesh >= 100, `only ${clear.mesh} flow datagrams captured`)
  assert.ok(clear.withMarker >= 100, `the marker in only ${clear.withMarker} datagrams`)
})
