import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CONTROL_PROTOCOL_VERSION, parseControllerMessage, parseRelayMessage, type ControlLinkReport } from '../../src/control/messages.js'
import { linkToWire, reportToWire } from '../../src/control/report-codec.js'
import { routeFromWire, routeToWire, tableFromWire, tableToWire, upsertsFromWire, upsertsToWire } from '../../src/control/table-codec.js'

function register (fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'register', protocol: CONTROL_PROTOCOL_VERSION, id: 'a', address: '127.0.0.1:7001', boot: 'boot-0001', caps: [], table_version: 0, table: [], ...fields }
}

function link (peer: string): unknown[] {
  return linkToWire({ peer, up: true, rtt_ms: 1, jitter_ms: 0, loss: 0, loss_short: 0, samples: 10 })
}

test('a register of another protocol version is refused, naming the version', () => {
  const p = parseRelayMessage(register({ protocol: 1 }))
  assert.equal(p.ok, false)
  assert.match(p.ok ? '' : p.reason, /^protocol: .*2/)
})

test('a register with an id checkRelayId refuses fails with a reason naming the id and the fix', () => {
  for (const id of ['_x', '-a', '', 'a'.repeat(64), 'constructor', '__proto__']) {
    const p = parseRelayMessage(register({ id }))
    assert.equal(p.ok, false, `id '${id}' is refused`)
    assert.match(p.ok ? '' : p.reason, /^id: relay id '.*' is (invalid|reserved).*--id/, `reason for '${id}'`)
  }
  assert.equal(parseRelayMessage(register({ id: 'a.b_c-1' })).ok, true)
})

test('a register with an address parseHostPort refuses fails with a reason naming the address', () => {
  for (const address of ['127.0.0.1:0', '127.0.0.1:65536', '999.0.0.1:7000', '::1:7000', 'relay.example:7000', '127.0.0.1']) {
    const p = parseRelayMessage(register({ address }))
    assert.equal(p.ok, false, `address '${address}' is refused`)
    assert.match(p.ok ? '' : p.reason, /^address: advertised address '.*'.*--advertise/, `reason for '${address}'`)
  }
  assert.equal(parseRelayMessage(register({ address: '[::1]:7001' })).ok, true)
})

test('a table entry with a bad destination, next hop or backup is skipped and counted; the rest applies', () => {
  const p = parseControllerMessage({
    type: 'table',
    fence: 1,
    version: 3,
    round: 1,
    upserts: [['b', 'c', ['b']], ['b', null, ['_x', '__proto__']], ['_y', null, ['c']], ['b', 'toString', ['d']]],
    removals: ['e', '__proto__', '']
  })
  assert.ok(p.ok)
  assert.equal(p.msg.type, 'table')
  if (p.msg.type !== 'table') return
  assert.deepEqual(p.msg.upserts, { b: { next_hop: 'b', backup: 'c' } })
  assert.equal(Object.getPrototypeOf(p.msg.upserts), Object.prototype, 'a destination named __proto__ is an entry, not the prototype')
  assert.deepEqual(p.msg.removals, ['e'])
  assert.equal(p.skipped.count, 6)
  assert.match(p.skipped.first ?? '', /table entry for '_x': relay id '_x' is invalid/)
})

test('a table message carries no full flag: one without it applies, one with it (true or false) is refused', () => {
  const table = { type: 'table', fence: 1, version: 2, round: 0, upserts: [['b', null, ['b']]], removals: [] }
  const p = parseControllerMessage(table)
  assert.ok(p.ok)
  assert.deepEqual(p.msg, { ...table, upserts: { b: { next_hop: 'b', backup: null } } })
  for (const flag of [true, false]) {
    const full = parseControllerMessage({ ...table, full: flag })
    assert.equal(full.ok, false, `full: ${flag} must not pass (no relay would replace its table)`)
    assert.match(full.ok ? '' : full.reason, /Unrecognized key.*full/)
  }
})

test('the table codec turns wire entries into routes and back, and nothing else', () => {
  const wire = { b: { next_hop: 'b', backup: 'c' }, c: { next_hop: 'c', backup: null } }
  const mem = tableFromWire(wire)
  assert.deepEqual([...mem], [['b', { nextHop: 'b', backup: 'c' }], ['c', { nextHop: 'c', backup: null }]])
  assert.deepEqual(tableToWire(mem), wire)
  assert.deepEqual(tableToWire(new Map([['d', { nextHop: 'b', backup: null, cost: 7 }]])), { d: { next_hop: 'b', backup: null } }, 'a cost stays in memory')
  assert.deepEqual(routeToWire(routeFromWire(wire.b)), wire.b)
})

test('table upserts go out grouped by next hop and backup, one destination id each, and come back as they were', () => {
  const upserts = { c: { next_hop: 'b', backup: 'd' }, e: { next_hop: 'b', backup: null }, f: { next_hop: 'b', backup: 'd' }, g: { next_hop: 'd', backup: 'b' } }
  const wire = upsertsToWire(upserts)
  assert.deepEqual(wire, [['b', 'd', ['c', 'f']], ['b', null, ['e']], ['d', 'b', ['g']]])
  assert.deepEqual(upsertsFromWire(wire), upserts)
  assert.deepEqual(upsertsFromWire([['b', null, ['c']], ['d', null, ['c']]]), { c: { next_hop: 'd', backup: null } }, 'a destination listed twice keeps its last entry')
  const tooMany = Array.from({ length: 3 }, (_, i) => [`n${i}`, null, Array.from({ length: 7_000 }, (_, j) => `d${j}`)])
  const p = parseControllerMessage({ type: 'table', fence: 1, version: 2, round: 0, upserts: tooMany, removals: [] })
  assert.equal(p.ok, false, '21,000 entries in groups of 7,000 exceed the limit')
  assert.match(p.ok ? '' : p.reason, /too many table entries/)
})

test('a report goes out with its links as tuples: 14 links fit one QUIC packet, and parse back to the report', () => {
  const report: ControlLinkReport = {
    relay: 'r0001',
    seq: 123456,
    trigger: 'schedule',
    links: Array.from({ length: 14 }, (_, i) => ({ peer: `r${String(100 + i * 61).padStart(4, '0')}`, up: i !== 3, rtt_ms: i === 3 ? null : 123.456, jitter_ms: 12.345, loss: 0.1234, loss_short: 0.5678, samples: 100 }))
  }
  const wire = { type: 'report', report: reportToWire(report) }
  // A QUIC packet carries at most 1,350 bytes here (@matrixai/quic), headers and the frame length included.
  assert.ok(JSON.stringify(wire).length < 1_200, `${JSON.stringify(wire).length} bytes`)
  const p = parseRelayMessage(JSON.parse(JSON.stringify(wire)))
  assert.ok(p.ok)
  assert.deepEqual(p.msg, { type: 'report', report })
  assert.equal(parseRelayMessage({ type: 'report', report: { ...report } }).ok, false, 'links as objects (version 1) are refused')
})

test('a neighbour entry with a bad id or address is skipped and counted; the rest applies', () => {
  const p = parseControllerMessage({
    type: 'neighbours',
    fence: 1,
    neighbours: [
      { id: 'b', address: '127.0.0.1:7002' },
      { id: 'c', address: '127.0.0.1:0' },
      { id: '_x', address: '127.0.0.1:7003' },
      { id: 'd', address: '[::1]:7004' }
    ]
  })
  assert.ok(p.ok)
  if (p.msg.type !== 'neighbours') assert.fail('neighbours message')
  assert.deepEqual(p.msg.neighbours.map((n) => n.id), ['b', 'd'])
  assert.equal(p.skipped.count, 2)
  assert.match(p.skipped.first ?? '', /neighbour 'c' address '127.0.0.1:0' has port 0/)
})

test('a report link to a bad peer id is skipped and counted; a register table entry likewise', () => {
  const r = parseRelayMessage({ type: 'report', report: { relay: 'a', seq: 1, trigger: 'schedule', links: [link('b'), link('_x')] } })
  assert.ok(r.ok)
  if (r.msg.type !== 'report') assert.fail('report message')
  assert.deepEqual(r.msg.report.links.map((l) => l.peer), ['b'])
  assert.equal(r.skipped.count, 1)
  const g = parseRelayMessage(register({ table: [['b', null, ['b', '_x']]] }))
  assert.ok(g.ok)
  if (g.msg.type !== 'register') assert.fail('register message')
  assert.deepEqual(Object.keys(g.msg.table), ['b'])
  assert.equal(g.skipped.count, 1)
})

test('a report naming itself with a bad id fails as a whole, and a clean message counts nothing', () => {
  assert.equal(parseRelayMessage({ type: 'report', report: { relay: '_x', seq: 1, trigger: 'schedule', links: [] } }).ok, false)
  const p = parseControllerMessage({ type: 'neighbours', fence: 1, neighbours: [{ id: 'b', address: '127.0.0.1:7002' }] })
  assert.ok(p.ok)
  assert.equal(p.skipped.count, 0)
})
