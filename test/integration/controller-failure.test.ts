import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { test } from 'node:test'
import { addressCheckNonce } from '../../src/control/address-check.js'
import { controlClientChannel } from '../../src/control/control-channel.js'
import { CONTROL_PROTOCOL_VERSION } from '../../src/control/messages.js'
import { connectQuic } from '../../src/transport/quic/client.js'
import type { Channel } from '../../src/transport/quic/types.js'
import { randomBytes } from 'node:crypto'
import { Flow, MeshHarness, startControllerProcess } from '../helpers/mesh-harness.js'

async function settled (h: MeshHarness): Promise<void> {
  await h.until('every relay has a full table', () => [...h.relays.values()].every((r) => r.forwarding.size === h.relays.size - 1), 60_000)
}

test('flows lose nothing while the controller is dead; relays restart on saved tables, or wait', async () => {
  const h = new MeshHarness()
  await h.init()
  let ctl = await startControllerProcess(h, 0)
  h.controllerAddrs = [ctl.control]
  const flow = new Flow()
  try {
    const ingress = await h.fiveRelays(await flow.open(), { stateFile: true })
    flow.start(ingress)
    await settled(h)
    const running = flow.received()
    await h.until('the flow runs on the settled tables', () => flow.received() >= running + 100, 30_000)
    const from = flow.sent
    ctl.proc.kill('SIGKILL')
    // While it is gone: d restarts and must come back on its saved tables; f is new and waits.
    const d = h.relay('d')
    const dPort = d.address?.port as number
    await d.stop()
    const d2 = await h.startRelay('d', { stateFile: true, port: dPort })
    assert.equal(d2.forwarding.size, 4, 'd forwards on its saved tables at once')
    const f = await h.startRelay('f')
    // The outage lasts 2,000 packets of the flow (10 s at its 5 ms pace, longer on a busy machine):
    // counted, so a slow machine gets a longer outage rather than a shorter test.
    await h.until('2,000 packets sent with the controller dead', () => flow.sent >= from + 2000, 120_000)
    assert.equal(f.forwarding.size, 0, 'a new relay without tables waits')
    const to = flow.sent
    const missing = (): number[] => {
      const got = new Set(flow.arrivals.map((x) => x.seq))
      const lost: number[] = []
      for (let s = from; s < to; s++) if (!got.has(s)) lost.push(s)
      return lost
    }
    // Wait for the last of them to arrive rather than a fixed time; a lost one never does.
    await h.until('every packet sent while the controller was dead to arrive', () => missing().length === 0, 10_000).catch(() => {})
    assert.equal(missing().length, 0, `lost ${missing().length} of ${to - from} packets while the controller was dead`)
    // The controller comes back on the same port; every relay registers again and f gets tables.
    ctl = await startControllerProcess(h, ctl.control.port)
    await h.until('f receives its tables', () => f.forwarding.size === 5, 60_000)
    const topo = await (await fetch(`${ctl.http}/api/topology?routes=false`)).json() as { relays: Array<{ id: string, up: boolean }> }
    assert.deepEqual(topo.relays.filter((r) => r.up).map((r) => r.id).sort(), ['a', 'b', 'c', 'd', 'e', 'f'])
  } finally {
    flow.close()
    ctl.proc.kill('SIGKILL')
    await h.stop()
  }
})

async function nextMessage (ch: Channel, timeoutMs = 30_000): Promise<unknown> {
  return await new Promise((resolve, reject) => {
    const t = setTimeout(() => { reject(new Error('no message')) }, timeoutMs)
    const off = ch.on('message', (m) => { clearTimeout(t); off(); resolve(m) })
  })
}

test('bad control input is refused with a reason, and the controller keeps serving the others', async () => {
  const h = new MeshHarness()
  await h.init()
  const c = await h.startController()
  const addr = c.address as { host: string, port: number }
  const flow = new Flow()
  try {
    const ingress = await h.fiveRelays(await flow.open())
    flow.start(ingress)
    await settled(h)
    // No mesh key: the handshake fails on both sides.
    await assert.rejects(connectQuic({ ...addr, ...controlClientChannel(randomBytes(32)), logger: h.log, timeoutMs: 3000 }), (err: Error & { code?: string }) => err.code === 'RM_ERR_MESH_KEY')
    // An unknown message type.
    const ch1 = await connectQuic({ ...addr, ...controlClientChannel(h.meshKey), logger: h.log })
    const reply1 = nextMessage(ch1)
    await ch1.send({ type: 'launch-missiles' })
    assert.equal((await reply1 as { type: string }).type, 'refuse')
    await ch1.closed
    // A report before register.
    const ch2 = await connectQuic({ ...addr, ...controlClientChannel(h.meshKey), logger: h.log })
    const reply2 = nextMessage(ch2)
    await ch2.send({ type: 'report', report: { relay: 'a', seq: 1, trigger: 'schedule', links: [] } })
    assert.match((await reply2 as { reason: string }).reason, /before register/)
    // A second process claiming a registered id (it answers the UDP address check at its own address).
    const ch3 = await connectQuic({ ...addr, ...controlClientChannel(h.meshKey), logger: h.log })
    const reply3 = nextMessage(ch3)
    const claimant = dgram.createSocket('udp4')
    await new Promise<void>((resolve) => { claimant.bind(0, '127.0.0.1', resolve) })
    claimant.on('message', (m) => {
      const nonce = addressCheckNonce(m)
      if (nonce !== undefined) ch3.send({ type: 'address', nonce: nonce.toString('base64') }).catch(() => {})
    })
    await ch3.send({ type: 'register', protocol: CONTROL_PROTOCOL_VERSION, id: 'a', address: `127.0.0.1:${claimant.address().port}`, boot: 'another-process', caps: [], table_version: 0, table: [] })
    assert.match((await reply3 as { reason: string }).reason, /already registered/)
    claimant.close()
    // An oversized message: the channel is closed, nothing else happens.
    const ch4 = await connectQuic({ ...addr, ...controlClientChannel(h.meshKey), logger: h.log, maxFrameBytes: 8 * 1024 * 1024 })
    ch4.send({ type: 'report', pad: 'x'.repeat(2 * 1024 * 1024) }).catch(() => {})
    const info = await ch4.closed
    assert.notEqual(info.initiator, 'local')
    // Everyone else is still served: a's channel is up and a new relay gets its tables.
    const refused = new Map((await c.metrics.refused.get()).values.map((v) => [v.labels.reason, v.value]))
    assert.equal(refused.get('invalid_message'), 1)
    assert.equal(refused.get('not_registered'), 1)
    assert.equal(refused.get('duplicate'), 1)
    const g = await h.startRelay('g')
    await h.until('g receives tables', () => g.forwarding.size === 5, 60_000)
    const before = flow.received()
    await h.until('the flow still runs', () => flow.received() > before + 100, 30_000)
  } finally {
    flow.close()
    await h.stop()
  }
})
