import { test } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { systemClock } from '../../src/clock.js'
import { silentLogger } from '../../src/logging.js'
import { MemoryNetwork, type MemoryMesh, type MemoryNetworkInit } from '../../src/mesh/memory-network.js'
import { Service } from '../../src/wire/constants.js'
import { Reason } from '../../src/wire/reasons.js'
import type { HostPort } from '../../src/transport/address.js'
import { REPLY_HEAD } from '../../relay/tunnel/framing.js'
import { parseTunnelSpec } from '../../relay/tunnel/spec.js'
import { TunnelService } from '../../relay/tunnel/tunnel-service.js'

// The tunnel service as a hosted service: ingress at relay a, egress at relay c, the two joined by
// the in-memory network (src/mesh/memory-network.ts) instead of relays. The application's ends
// are real UDP sockets on 127.0.0.1.

interface Rig {
  net: MemoryNetwork
  a: MemoryMesh
  c: MemoryMesh
  x: MemoryMesh
  ta: TunnelService
  tc: TunnelService
  /** Datagrams the target got; it answers each with "re:" + the datagram. */
  atTarget: string[]
  /** Replies the application got back. */
  replies: string[]
  send: (text: string) => Promise<void>
  close: () => void
}

async function udp (onMessage: (s: dgram.Socket, m: Buffer, r: dgram.RemoteInfo) => void): Promise<{ socket: dgram.Socket, port: number }> {
  const socket = dgram.createSocket('udp4')
  socket.on('message', (m, r) => { onMessage(socket, m, r) })
  await new Promise<void>((resolve) => { socket.bind(0, '127.0.0.1', resolve) })
  return { socket, port: socket.address().port }
}

async function rig (init: MemoryNetworkInit): Promise<Rig> {
  const net = new MemoryNetwork({ clock: systemClock }, init)
  const a = net.add('a'); const c = net.add('c'); const x = net.add('x')
  const atTarget: string[] = []
  const replies: string[] = []
  const target = await udp((s, m, r) => { atTarget.push(m.toString()); s.send(`re:${m.toString()}`, r.port, r.address) })
  const app = await udp((_s, m) => { replies.push(m.toString()) })
  const logger = silentLogger()
  const spec = parseTunnelSpec(`127.0.0.1:0@c=127.0.0.1:${target.port}`)
  const ta = new TunnelService({ mesh: a, clock: systemClock, logger }, { tunnels: [{ spec, dst: c.self.number }] })
  const tc = new TunnelService({ mesh: c, clock: systemClock, logger }, { tunnels: [], egressAllow: [`127.0.0.1/32:${target.port}`] })
  await ta.start()
  await tc.start()
  const entry = ta.ingress[0].bound as HostPort
  return {
    net, a, c, x, ta, tc, atTarget, replies,
    send: async (text) => { await new Promise<void>((resolve) => { app.socket.send(text, entry.port, entry.host, () => { resolve() }) }) },
    close: () => { ta.stop(); tc.stop(); target.socket.close(); app.socket.close() }
  }
}

async function until (cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

test('a tunnel carries datagrams across the memory network to its target, and the replies back to the sender', async () => {
  const r = await rig({ delayMs: 2, jitterMs: 3 })
  try {
    for (let i = 0; i < 20; i++) await r.send(`m${i}`)
    await until(() => r.replies.length === 20, '20 replies')
    assert.deepEqual([...r.atTarget].sort(), Array.from({ length: 20 }, (_, i) => `m${i}`).sort())
    assert.deepEqual([...r.replies].sort(), Array.from({ length: 20 }, (_, i) => `re:m${i}`).sort())
    assert.equal(r.c.delivered.get(Service.TUNNEL), 20)
    assert.equal(r.a.delivered.get(Service.TUNNEL), 20)
    assert.equal(r.a.dropped.reduce((s, n) => s + n, 0) + r.c.dropped.reduce((s, n) => s + n, 0), 0, 'nothing dropped')
  } finally {
    r.close()
  }
})

test('over a lossy network the tunnel carries exactly what the network delivers, each way', async () => {
  const r = await rig({ seed: 42, loss: 0.3, delayMs: 1, jitterMs: 2 })
  try {
    for (let i = 0; i < 200; i++) await r.send(`m${i}`)
    const settled = (from: string, to: string): boolean => { const k = r.net.counts(from, to); return k.sent === k.lost + k.delivered }
    await until(() => r.net.counts('a', 'c').sent === 200 && settled('a', 'c') && r.net.counts('c', 'a').sent === r.atTarget.length && settled('c', 'a') && r.replies.length === r.net.counts('c', 'a').delivered, 'the network to settle')
    const ac = r.net.counts('a', 'c'); const ca = r.net.counts('c', 'a')
    assert.equal(r.atTarget.length, ac.delivered, 'every forward packet the network delivered reached the target')
    assert.ok(ac.lost > 20 && ac.lost < 100, `${ac.lost} of 200 lost at 30%`)
    assert.equal(r.replies.length, ca.delivered)
    assert.ok(ca.lost > 0)
  } finally {
    r.close()
  }
})

test('a reply from a relay the tunnel does not send to, or with bad framing, is dropped and counted', async () => {
  const r = await rig({})
  try {
    let flow = 0
    r.net.tap = (from, _to, _service, f) => { if (from.id === 'a') flow = f }
    await r.send('hello')
    await until(() => r.replies.length === 1, 'the first reply')
    assert.notEqual(flow, 0)
    // x holds the mesh (it is a relay), but the tunnel's session at a belongs to c.
    r.x.send(r.a.self.number, Service.TUNNEL, flow, [REPLY_HEAD, Buffer.from('forged')], { class: 0 })
    r.x.send(r.a.self.number, Service.TUNNEL, flow, Buffer.from([9, 0, 1]), { class: 0 })
    r.x.send(r.a.self.number, Service.TUNNEL, flow, Buffer.alloc(0), { class: 0 })
    await until(() => r.a.dropped[Reason.UNKNOWN_SERVICE] === 1 && r.a.dropped[Reason.MALFORMED] === 2, 'the drops')
    r.c.send(r.a.self.number, Service.TUNNEL, flow, [REPLY_HEAD, Buffer.from('from c')], { class: 0 })
    await until(() => r.replies.length === 2, 'the genuine reply')
    assert.deepEqual(r.replies, ['re:hello', 'from c'])
  } finally {
    r.close()
  }
})

test('the egress drops the sessions of a source relay that restarted (another boot id)', async () => {
  const r = await rig({})
  try {
    await r.send('one')
    await until(() => r.replies.length === 1, 'the first reply')
    const first = r.a.epoch
    r.a.epoch = first + 1
    await r.send('two')
    await until(() => r.replies.length === 2, 'the reply after the restart')
    assert.equal(r.tc.egress.sessionsOf(r.a.self.number), 1, 'the old session was closed, a new one opened')
    assert.deepEqual(r.atTarget, ['one', 'two'])
  } finally {
    r.close()
  }
})
