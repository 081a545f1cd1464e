import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import { silentLogger } from '../../src/logging.js'
import { Reason } from '../../src/wire/reasons.js'
import { FlowTable, TunnelIngress } from '../../relay/tunnel/ingress.js'
import { SourceGate } from '../../relay/tunnel/source-gate.js'
import { parseTunnelSpec } from '../../relay/tunnel/spec.js'
import { DEFAULT_TUNNEL_LIMITS, type TunnelLimits } from '../../relay/tunnel/types.js'
import { RecordingMesh } from '../helpers/fake-mesh.js'

/** The fake mesh, with the flow id of every packet the ingress sent. */
class FakePlane extends RecordingMesh {
  get flows (): number[] { return this.sent.map((p) => p.flow) }
}

function ingress (opts: { allow?: string[], ratePps?: number, limits?: Partial<TunnelLimits>, listen?: string, logger?: ReturnType<typeof silentLogger> } = {}): { t: TunnelIngress, plane: FakePlane, gate: SourceGate, flows: FlowTable } {
  const plane = new FakePlane()
  const limits = { ...DEFAULT_TUNNEL_LIMITS, ...opts.limits }
  const gate = new SourceGate({ mesh: plane }, { allow: opts.allow, ratePps: opts.ratePps ?? 0, maxSources: limits.maxSessions })
  const flows = new FlowTable()
  const spec = parseTunnelSpec(`${opts.listen ?? '127.0.0.1:0'}@c=127.0.0.1:50000`)
  const t = new TunnelIngress({ mesh: plane, flows, gate, logger: opts.logger ?? silentLogger() }, spec, 3, limits)
  return { t, plane, gate, flows }
}

const msg = Buffer.from('hello')

test('the ingress carries datagrams only from senders --tunnel-allow-source admits (default loopback)', () => {
  const { t, plane } = ingress()
  t.onDatagram(msg, '127.0.0.1', 40000)
  t.onDatagram(msg, '::1', 40000)
  t.onDatagram(msg, '::ffff:127.0.0.1', 40000)
  assert.equal(plane.flows.length, 3)
  for (const host of ['10.0.0.1', '192.0.2.7', '::ffff:10.0.0.1', 'fd00::1']) {
    t.onDatagram(msg, host, 40000)
    t.onDatagram(msg, host, 40000)
  }
  assert.equal(plane.dropped[Reason.EGRESS_DENIED], 8)
  assert.equal(plane.flows.length, 3, 'nothing from a refused sender entered the mesh')
  assert.equal(t.sessionCount, 3)

  const { t: t2, plane: p2 } = ingress({ allow: ['10.0.0.0/8'] })
  t2.onDatagram(msg, '10.2.3.4', 1)
  t2.onDatagram(msg, '::ffff:10.2.3.4', 1)
  t2.onDatagram(msg, '127.0.0.1', 1)
  assert.equal(p2.flows.length, 2)
  assert.equal(p2.dropped[Reason.EGRESS_DENIED], 1)
})

test('each sender address has its own token bucket; over the rate is queue_full', () => {
  const { t, plane, gate } = ingress({ ratePps: 10 })
  // Two ports of one address share its bucket.
  for (let i = 0; i < 8; i++) t.onDatagram(msg, '127.0.0.1', 40000)
  for (let i = 0; i < 8; i++) t.onDatagram(msg, '127.0.0.1', 40001)
  assert.equal(plane.flows.length, 10)
  assert.equal(plane.dropped[Reason.QUEUE_FULL], 6)
  // Another address is not held back by the first.
  for (let i = 0; i < 10; i++) t.onDatagram(msg, '127.0.0.2', 40000)
  assert.equal(plane.flows.length, 20)
  gate.refill(500)
  for (let i = 0; i < 10; i++) t.onDatagram(msg, '127.0.0.1', 40000)
  assert.equal(plane.flows.length, 25, 'half a second refills half the rate')
  gate.refill(60_000)
  for (let i = 0; i < 20; i++) t.onDatagram(msg, '127.0.0.1', 40000)
  assert.equal(plane.flows.length, 35, 'a bucket holds at most one second of tokens')
})

test('a sender on port 0 cannot be answered and is dropped as malformed', () => {
  const { t, plane } = ingress()
  t.onDatagram(msg, '127.0.0.1', 0)
  assert.equal(plane.dropped[Reason.MALFORMED], 1)
  assert.equal(t.sessionCount, 0)
})

test('flow ids are random, not counted, and unique among live sessions', () => {
  const { t, plane } = ingress()
  for (let port = 1000; port < 1100; port++) t.onDatagram(msg, '127.0.0.1', port)
  const ids = plane.flows
  assert.equal(new Set(ids).size, 100)
  assert.ok(!ids.includes(0))
  let steps = 0
  for (let i = 1; i < ids.length; i++) if (ids[i] === ids[i - 1] + 1) steps++
  assert.ok(steps < 5, 'consecutive ids would let a restarted ingress reuse an old session\'s flow')
  // A fresh table (a restarted ingress) does not start where the last one did.
  const again = ingress()
  again.t.onDatagram(msg, '127.0.0.1', 1000)
  assert.notEqual(again.plane.flows[0], ids[0])
})

test('sessions and sources are forgotten once idle, and the session table is bounded', () => {
  const { t, plane, gate } = ingress({ limits: { idleMs: 1000, maxSessions: 2 } })
  t.tick(0)
  t.onDatagram(msg, '127.0.0.1', 1)
  t.onDatagram(msg, '127.0.0.1', 2)
  t.onDatagram(msg, '127.0.0.1', 3)
  assert.equal(plane.dropped[Reason.QUEUE_FULL], 1)
  assert.equal(gate.size, 1)
  t.sweep(2000)
  assert.equal(t.sessionCount, 0)
  gate.sweep(3000, 1000)
  assert.equal(gate.size, 0)
})

test('a tunnel on a wildcard address logs a warning', async () => {
  const lines: string[] = []
  const logger = pino({ level: 'warn' }, { write: (s: string) => { lines.push(s) } })
  const { t } = ingress({ listen: '0.0.0.0:0', logger })
  await t.start(0)
  t.stop()
  assert.ok(lines.some((l) => l.includes('wildcard')), lines.join(''))
  lines.length = 0
  const { t: t2 } = ingress({ logger })
  await t2.start(0)
  t2.stop()
  assert.ok(!lines.some((l) => l.includes('wildcard')))
})
