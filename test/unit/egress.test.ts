import { test } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { silentLogger } from '../../src/logging.js'
import { MeshDelivery } from '../../src/mesh/delivery.js'
import { Reason } from '../../src/wire/reasons.js'
import { EgressPolicy } from '../../relay/tunnel/egress-policy.js'
import { TunnelEgress, type TargetPolicy } from '../../relay/tunnel/egress.js'
import { encodeFrameHead, FrameKind, parseFrame, TunnelFrame } from '../../relay/tunnel/framing.js'
import { DEFAULT_TUNNEL_LIMITS, type TunnelLimits } from '../../relay/tunnel/types.js'
import { RecordingMesh } from '../helpers/fake-mesh.js'

// TunnelEgress with real UDP sockets toward real targets, behind a fake mesh that records what
// the egress sends back and counts its drops.

/** A forward tunnel packet as the tunnel service hands it to the egress: delivery and parsed frame. */
function packet (src: number, epoch: number, flow: number, target: { host: string, port: number }, text: string): [MeshDelivery, TunnelFrame] {
  const head = encodeFrameHead({ ...target, family: target.host.includes(':') ? 6 : 4 })
  const d = new MeshDelivery()
  d.src = src; d.epoch = epoch; d.flow = flow
  d.buf = Buffer.concat([Buffer.from('pad'), head, Buffer.from(text)])
  d.offset = 3; d.length = d.buf.length - 3
  const f = new TunnelFrame()
  assert.ok(parseFrame(d.buf, d.offset, d.length, f))
  return [d, f]
}

/** What the egress sent back: [dst, flow, frame kind, datagram]. */
function replies (mesh: RecordingMesh): Array<[number, number, number, string]> {
  return mesh.sent.map((p) => [p.dst, p.flow, p.payload[0], p.payload.subarray(1).toString()])
}

async function sink (type: 'udp4' | 'udp6' = 'udp4'): Promise<{ socket: dgram.Socket, port: number, got: string[] }> {
  const socket = dgram.createSocket(type)
  const got: string[] = []
  socket.on('message', (m, r) => { got.push(m.toString()); socket.send(`re:${m.toString()}`, r.port, r.address) })
  await new Promise<void>((resolve) => { socket.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', resolve) })
  return { socket, port: socket.address().port, got }
}

async function until (cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

function egress (policy: TargetPolicy, limits: Partial<TunnelLimits> = {}): { e: TunnelEgress, plane: RecordingMesh } {
  const plane = new RecordingMesh()
  return { e: new TunnelEgress({ mesh: plane, logger: silentLogger() }, policy, { ...DEFAULT_TUNNEL_LIMITS, ...limits }), plane }
}

const allowAll: TargetPolicy = { allows: () => true }

test('a target the egress cannot connect to fails its session with egress_denied, and other sessions still forward', async () => {
  // The policy admits everything, so only the connect failure (EACCES on a broadcast address)
  // stands between the egress and a send on an unconnected socket, which throws from a callback.
  const { e, plane } = egress(allowAll)
  const t = await sink()
  try {
    for (let i = 0; i < 3; i++) e.onData(...packet(7, 1, 1, { host: '127.255.255.255', port: 50000 }, `bcast-${i}`))
    e.onData(...packet(7, 1, 2, { host: '127.0.0.1', port: t.port }, 'good-0'))
    await until(() => plane.dropped[Reason.EGRESS_DENIED] === 3 && t.got.length === 1, 'the broadcast session to fail')
    // The failed session stays refused, counted, without a socket.
    e.onData(...packet(7, 1, 1, { host: '127.255.255.255', port: 50000 }, 'bcast-late'))
    assert.equal(plane.dropped[Reason.EGRESS_DENIED], 4)
    e.onData(...packet(7, 1, 2, { host: '127.0.0.1', port: t.port }, 'good-1'))
    await until(() => t.got.length === 2 && plane.sent.length === 2, 'the good session to carry on')
    assert.deepEqual(t.got, ['good-0', 'good-1'])
    assert.deepEqual(replies(plane), [[7, 2, FrameKind.REPLY, 're:good-0'], [7, 2, FrameKind.REPLY, 're:good-1']])
  } finally {
    e.stop(); t.socket.close()
  }
})

test('broadcast, multicast and unspecified targets are refused even by an allow-everything list', async () => {
  const { e, plane } = egress(new EgressPolicy(['0.0.0.0/0', '[::/0]']))
  const t = await sink()
  try {
    const bad = ['127.255.255.255', '255.255.255.255', '224.0.0.1', '239.1.2.3', '0.0.0.0', '::', 'ff02::1', '::ffff:224.0.0.1', '::ffff:127.255.255.255']
    bad.forEach((host, i) => { e.onData(...packet(9, 1, 100 + i, { host, port: 50000 }, 'x')) })
    assert.equal(plane.dropped[Reason.EGRESS_DENIED], bad.length)
    e.onData(...packet(9, 1, 1, { host: '127.0.0.1', port: t.port }, 'ok'))
    await until(() => t.got.length === 1, 'a good target')
  } finally {
    e.stop(); t.socket.close()
  }
})

test('an IPv4-mapped IPv6 target is sent to as IPv4 and matches the IPv4 rules', async () => {
  const t = await sink()
  const { e, plane } = egress(new EgressPolicy([`127.0.0.1/32:${t.port}`]))
  try {
    e.onData(...packet(3, 1, 1, { host: '::ffff:127.0.0.1', port: t.port }, 'mapped'))
    await until(() => t.got.length === 1 && plane.sent.length === 1, 'the mapped target')
    e.onData(...packet(3, 1, 2, { host: '::ffff:127.0.0.2', port: t.port }, 'other'))
    assert.equal(plane.dropped[Reason.EGRESS_DENIED], 1)
  } finally {
    e.stop(); t.socket.close()
  }
  // The egress itself reads the mapped address as IPv4, so its socket is an IPv4 one.
  const asked: string[] = []
  const { e: e2 } = egress({ allows: (host) => { asked.push(host); return false } })
  e2.onData(...packet(3, 1, 1, { host: '::ffff:10.1.2.3', port: 50000 }, 'x'))
  e2.onData(...packet(3, 1, 2, { host: 'fd00::1', port: 50000 }, 'x'))
  assert.deepEqual(asked, ['10.1.2.3', 'fd00:0:0:0:0:0:0:1'])
})

test('another boot id of a source relay drops its old sessions (the data plane admits only the current boot)', async () => {
  const t = await sink()
  const { e, plane } = egress(allowAll)
  try {
    e.onData(...packet(5, 100, 1, { host: '127.0.0.1', port: t.port }, 'e100-f1'))
    e.onData(...packet(5, 100, 2, { host: '127.0.0.1', port: t.port }, 'e100-f2'))
    e.onData(...packet(6, 100, 1, { host: '127.0.0.1', port: t.port }, 'other-relay'))
    assert.equal(e.sessionsOf(5), 2)
    await until(() => t.got.length === 3, 'the first sessions')
    e.onData(...packet(5, 101, 1, { host: '127.0.0.1', port: t.port }, 'e101-f1'))
    assert.equal(e.sessionsOf(5), 1, 'the restarted relay starts afresh')
    assert.equal(e.sessionsOf(6), 1, 'another relay keeps its sessions')
    assert.equal(e.sessionCount, 2)
    await until(() => t.got.length === 4, 'the live sessions')
    assert.equal(plane.dropped[Reason.REPLAY], 0)
  } finally {
    e.stop(); t.socket.close()
  }
})

test('each source relay holds at most its quota of egress sessions', async () => {
  const t = await sink()
  const { e, plane } = egress(allowAll, { egressQuota: 2, maxSessions: 10 })
  try {
    for (let f = 1; f <= 5; f++) e.onData(...packet(1, 1, f, { host: '127.0.0.1', port: t.port }, `a${f}`))
    assert.equal(e.sessionsOf(1), 2)
    assert.equal(plane.dropped[Reason.QUEUE_FULL], 3)
    for (let f = 1; f <= 2; f++) e.onData(...packet(2, 1, f, { host: '127.0.0.1', port: t.port }, `b${f}`))
    assert.equal(e.sessionsOf(2), 2, 'one exhausted ingress leaves room for another')
    await until(() => t.got.length === 4, 'the admitted sessions')
  } finally {
    e.stop(); t.socket.close()
  }
})

test('idle sessions are swept', async () => {
  const t = await sink()
  const { e } = egress(allowAll, { idleMs: 1000 })
  try {
    e.tick(0)
    e.onData(...packet(1, 1, 1, { host: '127.0.0.1', port: t.port }, 'y'))
    assert.equal(e.sessionCount, 1)
    e.sweep(500)
    assert.equal(e.sessionCount, 1)
    e.sweep(1001)
    assert.equal(e.sessionCount, 0)
  } finally {
    e.stop(); t.socket.close()
  }
})
