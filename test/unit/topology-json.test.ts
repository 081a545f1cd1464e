import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MeshGraph } from '../../topology/mesh-graph.js'
import { snapshotOf } from '../../topology/snapshot.js'
import { topologyInput } from '../../topology/topology-input.js'
import { topologyJson } from '../../topology/topology-json.js'
import { fiveRelays } from '../helpers/topology-fixture.js'

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8')

/** A ring with chords and assorted figures: fractional, whole, lossy, down and never measured. */
function ringMesh (n: number): MeshGraph {
  const g = new MeshGraph()
  const id = (i: number): string => `r${i}`
  for (let i = 0; i < n; i++) g.upsertRelay(id(i), `10.0.0.${i}:7000`)
  for (let i = 0; i < n; i++) {
    for (const k of [1, 3, 7]) {
      const j = (i + k) % n
      const down = (i * k) % 11 === 0
      g.updateLink(id(i), id(j), down ? { rttMs: NaN, jitterMs: NaN, loss: 1, up: false } : { rttMs: 5 + ((i * 37 + k * 13) % 97) / 7, jitterMs: (i % 5) / 3, loss: (i % 4) * 0.0123, up: true })
      g.updateLink(id(j), id(i), { rttMs: 5 + k * 10, jitterMs: 0, loss: 0, up: true })
    }
  }
  g.setRelayUp(id(2), false)
  return g
}

test('topologyJson writes the same bytes as JSON.stringify of the snapshot, with routes and without', () => {
  for (const g of [fiveRelays(), fiveRelays('shuffled'), ringMesh(40), new MeshGraph()]) {
    for (const routes of [true, false]) {
      assert.equal(text(topologyJson(topologyInput(g, 42, { routes }))), JSON.stringify(snapshotOf(g, 42, { routes })))
    }
  }
})

test('topologyJson escapes ids and addresses as JSON does', () => {
  const g = new MeshGraph()
  g.upsertRelay('a"b\\c', 'host\n:1')
  g.upsertRelay('zé', '[::1]:2')
  g.updateLink('a"b\\c', 'zé', { rttMs: 1.0005, jitterMs: 0, loss: 0, up: true })
  g.updateLink('zé', 'a"b\\c', { rttMs: 2, jitterMs: 0, loss: 0, up: true })
  const body = text(topologyJson(topologyInput(g, 1, { routes: true })))
  assert.equal(body, JSON.stringify(snapshotOf(g, 1)))
  assert.deepEqual(JSON.parse(body), JSON.parse(JSON.stringify(snapshotOf(g, 1))))
})

test('a topology input is a copy: changing the graph after taking it leaves the body as it was', () => {
  const g = fiveRelays()
  const input = topologyInput(g, 3, { routes: true })
  const before = JSON.stringify(snapshotOf(g, 3))
  g.updateLink('a', 'b', { rttMs: 200, jitterMs: 0, loss: 0, up: true })
  g.routes()
  assert.notEqual(JSON.stringify(snapshotOf(g, 3)), before)
  assert.equal(text(topologyJson(input)), before)
})

test('inputs taken one after another follow every change of figures, links and relays between them', () => {
  const g = ringMesh(12)
  const same = (what: string): void => {
    for (const routes of [true, false]) {
      assert.equal(text(topologyJson(topologyInput(g, 5, { routes }))), JSON.stringify(snapshotOf(g, 5, { routes })), `${what}, routes ${String(routes)}`)
    }
  }
  same('first')
  // Figures that move under the cost hysteresis, and ones that move the cost.
  g.updateLink('r0', 'r1', { rttMs: 5.01, jitterMs: 2.5, loss: 0.5, up: true })
  g.updateLink('r3', 'r6', { rttMs: 300, jitterMs: 0, loss: 0, up: true })
  g.updateLink('r4', 'r5', { rttMs: NaN, jitterMs: NaN, loss: 1, up: false })
  same('figures moved')
  g.updateLink('r0', 'r6', { rttMs: 9, jitterMs: 0, loss: 0, up: true })
  same('a link added')
  g.updateLink('r0', 'r6', { rttMs: 11, jitterMs: 1, loss: 0, up: true })
  same('the new link moved')
  g.removeLink('r1', 'r2')
  g.retainLinks(new Map([...g.adjacency()].map(([id, peers]) => [id, id === 'r5' ? new Set([...peers].filter((p) => p !== 'r6')) : peers])))
  same('links removed')
  g.upsertRelay('r50', '10.0.0.50:7000')
  same('a relay with no links yet')
  g.upsertRelay('r99', '10.0.0.99:7000')
  g.updateLink('r99', 'r0', { rttMs: 4, jitterMs: 0, loss: 0, up: true })
  g.removeRelay('r7')
  g.setRelayUp('r3', false)
  same('relays added and removed')
  g.updateLink('r99', 'r0', { rttMs: 6, jitterMs: 0.5, loss: 0.01, up: true })
  same('after all that, figures moved again')
})
