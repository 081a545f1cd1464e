import { test } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { silentLogger } from '../../src/logging.js'
import { HEADER_LENGTH, TAG_LENGTH } from '../../src/wire/constants.js'
import { PacketHeader } from '../../src/wire/header.js'
import { Reason, REASON_COUNT } from '../../src/wire/reasons.js'
import { EgressPolicy } from '../../relay/tunnel/egress-policy.js'
import { TunnelEgress, type TargetPolicy } from '../../relay/tunnel/egress.js'
import { targetPrefix } from '../../relay/tunnel/ingress.js'
import { DEFAULT_TUNNEL_LIMITS, type TunnelLimits, type TunnelPlane } from '../../relay/tunnel/types.js'

// TunnelEgress with real UDP sockets toward real targets, behind a fake data plane that records
// what the egress originates and counts its drops.

class FakePlane implements TunnelPlane {
  readonly dropped = new Array<number>(REASON_COUNT).fill(0)
  readonly replies: Array<{ dst: number, flow: number, flags: number, payload: string }> = []
  private pendingMeta = new WeakMap<Buffer, { dst: number, flow: number, flags: number }>()
  begin = (dst: number, _service: number, flow: number, flags: number, len: number): Buffer => {
    const b = Buffer.alloc(HEADER_LENGTH + len + TAG_LENGTH)
    this.pendingMeta.set(b, { dst, flow, flags })
    return b
  }

  originate = (buf: Buffer): 0 => {
    const m = this.pendingMeta.get(buf) as { dst: number, flow: number, flags: number }
    this.replies.push({ ...m, payload: buf.subarray(HEADER_LENGTH, buf.length - TAG_LENGTH).toString() })
    return 0
  }

  countDrop = (r: Reason): void => { this.dropped[r]++ }
}

/** A forward tunnel packet as the egress's service handler receives it. */
function packet (src: number, epoch: number, flow: number, target: { host: string, port: number }, text: string): [PacketHeader, Buffer] {
  const prefix = targetPrefix({ ...target, family: target.host.includes(':') ? 6 : 4 })
  const payload = Buffer.concat([prefix, Buffer.from(text)])
  const h = new PacketHeader()
  h.src = src; h.epoch = epoch; h.flow = flow; h.payloadLength = payload.length
  const buf = Buffer.alloc(HEADER_LENGTH + payload.length + TAG_LENGTH)
  payload.copy(buf, HEADER_LENGTH)
  return [h, buf]
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

function egress (policy: TargetPolicy, limits: Partial<TunnelLimits> = {}): { e: TunnelEgress, plane: FakePlane } {
  const plane = new FakePlane()
  return { e: new TunnelEgress({ plane, logger: silentLogger() }, policy, { ...DEFAULT_TUNNEL_LIMITS, ...limits }), plane }
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
    await until(() => t.got.length === 2 && plane.replies.length === 2, 'the good session to carry on')
    assert.deepEqual(t.got, ['good-0', 'good-1'])
    assert.deepEqual(plane.replies.map((r) => [r.dst, r.flow, r.flags, r.payload]), [[7, 2, 1, 're:good-0'], [7, 2, 1, 're:good-1']])
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
    await until(() => t.got.length === 1 && plane.replies.length === 1, 'the mapped target')
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

test('a newer boot epoch of a source relay drops its old sessions; an older one is refused', async () => {
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
    e.onData(...packet(5, 100, 2, { host: '127.0.0.1', port: t.port }, 'stale'))
    assert.equal(plane.dropped[Reason.REPLAY], 1)
    await until(() => t.got.length === 4, 'the live sessions')
    assert.ok(!t.got.includes('stale'))
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

test('malformed framing and idle sessions: dropped and swept', async () => {
  const t = await sink()
  const { e, plane } = egress(allowAll, { idleMs: 1000 })
  try {
    const [h, buf] = packet(1, 1, 1, { host: '127.0.0.1', port: t.port }, 'x')
    buf[HEADER_LENGTH] = 5
    e.onData(h, buf)
    assert.equal(plane.dropped[Reason.MALFORMED], 1)
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
