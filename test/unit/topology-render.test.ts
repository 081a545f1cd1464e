import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError } from '../../src/errors.js'
import { pathOf } from '../../topology/path-view.js'
import { render } from '../../topology/render.js'
import { snapshotOf } from '../../topology/snapshot.js'
import { fiveRelays } from '../helpers/topology-fixture.js'

const snap = snapshotOf(fiveRelays(), 42)

/** Table body rows as arrays of trimmed cells (cli-table3 draws │ between cells). */
function rows (table: string): string[][] {
  return table.split('\n')
    .filter((line) => line.startsWith('│'))
    .map((line) => line.split('│').slice(1, -1).map((c) => c.trim()))
}

test('the relays table has one row per relay with its address and state', () => {
  const r = rows(render(snap, { view: 'relays' }, 'table'))
  assert.deepEqual(r[0], ['relay', 'address', 'state'])
  assert.deepEqual(r.slice(1), [
    ['a', '127.0.0.1:7001', 'up'], ['b', '127.0.0.1:7002', 'up'], ['c', '127.0.0.1:7003', 'up'],
    ['d', '127.0.0.1:7004', 'up'], ['e', '127.0.0.1:7005', 'down']
  ])
})

test('the links table shows loss as a percentage, unknown figures as - and an unusable cost as ∞', () => {
  const r = rows(render(snap, { view: 'links' }, 'table'))
  assert.equal(r.length, 11)
  assert.deepEqual(r.find((x) => x[0] === 'd' && x[1] === 'e'), ['d', 'e', '-', '-', '100.0%', '∞', 'down'])
  assert.deepEqual(r.find((x) => x[0] === 'e'), ['e', 'd', '10.1', '0.0', '2.0%', '8.3', 'up'])
})

test('the routes table has one row per (src, dst) with next hop, backup, cost and path', () => {
  const r = rows(render(snap, { view: 'routes' }, 'table'))
  assert.deepEqual(r[0], ['src', 'dst', 'next hop', 'backup', 'cost', 'path'])
  assert.deepEqual(r.find((x) => x[0] === 'a' && x[1] === 'c'), ['a', 'c', 'b', 'c', '12.0', 'a → b → c'])
  assert.deepEqual(r.find((x) => x[0] === 'e' && x[1] === 'a'), ['e', 'a', 'd', '-', '26.3', 'e → d → c → b → a'])
  assert.equal(r.length - 1, 4 * 3 + 4, 'a–d reach each other, e reaches a–d, nobody reaches e')
  const fromA = rows(render(snap, { view: 'routes', src: 'a' }, 'table'))
  assert.deepEqual(fromA.slice(1).map((x) => x[1]), ['b', 'c', 'd'])
})

test('the path view lists each hop\'s figures and a total line', () => {
  const text = render(snap, { view: 'path', src: 'e', dst: 'b' }, 'table')
  assert.equal(text.split('\n')[0], 'e → d → c → b')
  const r = rows(text)
  assert.deepEqual(r.slice(1), [
    ['e', 'd', '10.1', '2.0%', '8.3'],
    ['d', 'c', '10.0', '0.0%', '6.0'],
    ['c', 'b', '10.0', '0.0%', '6.0'],
    ['total', '', '30.1', '2.0%', '20.3']
  ])
})

test('path as JSON is {src, dst, path, cost, hops}', () => {
  const p = JSON.parse(render(snap, { view: 'path', src: 'a', dst: 'c' }, 'json')) as unknown
  assert.deepEqual(p, {
    src: 'a',
    dst: 'c',
    path: ['a', 'b', 'c'],
    cost: 12,
    hops: [{ from: 'a', to: 'b', rtt_ms: 10, loss: 0, cost: 6 }, { from: 'b', to: 'c', rtt_ms: 10, loss: 0, cost: 6 }]
  })
})

test('an unreachable destination is an empty path, not an error', () => {
  assert.deepEqual(pathOf(snap, 'a', 'e'), { src: 'a', dst: 'e', path: [], cost: null, hops: [] })
  assert.equal(render(snap, { view: 'path', src: 'a', dst: 'e' }, 'table'), 'no route from a to e')
})

test('JSON views print only their slice of the snapshot', () => {
  assert.deepEqual(JSON.parse(render(snap, { view: 'relays' }, 'json')), snap.relays)
  assert.deepEqual(JSON.parse(render(snap, { view: 'links' }, 'json')), snap.links)
  assert.deepEqual(JSON.parse(render(snap, { view: 'routes' }, 'json')), snap.routes)
  assert.deepEqual(JSON.parse(render(snap, { view: 'routes', src: 'b' }, 'json')), { b: snap.routes.b })
})

test('an unknown relay id is a one-line error that names it and how to list relays', () => {
  for (const q of [{ view: 'path', src: 'x', dst: 'a' }, { view: 'path', src: 'a', dst: 'x' }, { view: 'routes', src: 'x' }] as const) {
    assert.throws(() => render(snap, q, 'table'), (err: unknown) => {
      assert.ok(err instanceof ConfigError)
      assert.equal(err.message, "relay 'x' is not in the topology; `relaymesh topology relays` lists them")
      return true
    })
  }
})

test('DOT output is a digraph with a node per relay and an edge per link', () => {
  const dot = render(snap, { view: 'links' }, 'dot')
  const lines = dot.split('\n')
  assert.equal(lines[0], 'digraph relaymesh {')
  assert.equal(lines.at(-1), '}')
  // Every statement between the braces is terminated, and quotes balance on every line.
  for (const line of lines.slice(1, -1)) {
    assert.match(line, /;$/, line)
    assert.equal((line.replace(/\\"/g, '').match(/"/g) ?? []).length % 2, 0, line)
  }
  for (const id of ['a', 'b', 'c', 'd', 'e']) assert.ok(dot.includes(`  "${id}" [label=`), id)
  assert.equal(lines.filter((l) => l.includes(' -> ')).length, 10)
  assert.match(dot, /"a" -> "b" \[label="10\.0 ms\\nloss 0\.0%\\ncost 6\.0"\];/)
  assert.match(dot, /"d" -> "e" \[[^\]]*color=red[^\]]*style=dashed/)
  assert.match(dot, /"e" \[label="e\\n127\.0\.0\.1:7005", color=grey[^\]]*dashed/)
})

test('DOT for a path draws exactly the path\'s edges bold', () => {
  const dot = render(snap, { view: 'path', src: 'a', dst: 'd' }, 'dot')
  const bold = dot.split('\n').filter((l) => l.includes('style=bold')).map((l) => l.trim().split(' [')[0])
  assert.deepEqual(bold, ['"a" -> "b"', '"b" -> "c"', '"c" -> "d"'])
})

test('DOT for routes from one relay draws its shortest-path tree bold', () => {
  const dot = render(snap, { view: 'routes', src: 'a' }, 'dot')
  const bold = dot.split('\n').filter((l) => l.includes('style=bold')).map((l) => l.trim().split(' [')[0])
  assert.deepEqual(bold, ['"a" -> "b"', '"b" -> "c"', '"c" -> "d"'])
})
