import assert from 'node:assert/strict'
import { test } from 'node:test'
import { validateScenario, type Scenario } from '../../sim/scenario.js'
import { runModel } from '../../sim/model/run-model.js'
import type { SimResult } from '../../sim/types.js'

/** a–c is the short way; a–b–c a detour 5 ms longer. */
function triangle (extra: Partial<Record<string, unknown>> = {}): Scenario {
  return validateScenario({
    name: 'triangle',
    duration_s: 30,
    seed: 3,
    topology: 'listed',
    relays: [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
    links: [
      { between: ['a', 'b'], state: { delay_ms: 10, jitter_ms: 0.5 } },
      { between: ['b', 'c'], state: { delay_ms: 10, jitter_ms: 0.5 } },
      { between: ['a', 'c'], state: { delay_ms: 15, jitter_ms: 0.5 } }
    ],
    flows: [{ id: 'f', from: 'a', to: 'c', pps: 50 }],
    ...extra
  })
}

test('model mode: when a–c fails the flow moves to a–b–c, and routes converge', async () => {
  const r = await runModel(triangle({ events: [{ at_s: 10, kind: 'link', between: ['a', 'c'], set: { outage: true }, label: 'a–c cut' }] }))
  const f = r.flows[0]
  assert.deepEqual(f.path_changes[0], { t_s: 0, path: ['a', 'c'] })
  const moved = f.path_changes.find((c) => c.t_s >= 10)
  assert.ok(moved !== undefined, 'the path changed after the cut')
  assert.deepEqual(moved.path, ['a', 'b', 'c'])
  // Detection takes 3 probe intervals plus the RTT; fast reroute moves at once.
  assert.ok(moved.t_s < 11, `moved at ${moved.t_s} s`)
  assert.deepEqual(f.path_changes[f.path_changes.length - 1].path, ['a', 'b', 'c'])
  const e = r.events[0]
  assert.equal(e.target, 'a–c')
  assert.equal(e.label, 'a–c cut')
  assert.ok(e.convergence_ms !== null && e.convergence_ms > 0 && e.convergence_ms < 3000, `convergence ${e.convergence_ms} ms`)
  assert.ok(f.loss > 0 && f.loss < 0.03, `mesh loss ${f.loss}`)
  assert.ok(f.direct_loss > 0.6, `direct loss ${f.direct_loss}: the direct link is dark for 20 of 30 s`)
  assert.equal(r.final_routes.a.c.next_hop, 'b')
  assert.deepEqual(r.final_routes.a.c.path, ['a', 'b', 'c'])
  assert.ok(f.p50_ms !== null && f.p50_ms > 19 && f.p50_ms < 22, `p50 ${f.p50_ms}`)
  assert.equal(f.series.length, 30)
  assert.equal(f.series[15].direct_loss, 1)
})

test('model mode: a lossy direct link is avoided, so the mesh loses far less than direct', async () => {
  const s = validateScenario({
    name: 'lossy-transit',
    duration_s: 40,
    seed: 5,
    topology: 'listed',
    relays: [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
    links: [
      { between: ['a', 'c'], state: { delay_ms: 20, loss: 0.2 } },
      { between: ['a', 'b'], state: { delay_ms: 12 } },
      { between: ['b', 'c'], state: { delay_ms: 12 } }
    ],
    flows: [{ id: 'f', from: 'a', to: 'c', pps: 50 }]
  })
  const r = await runModel(s)
  const f = r.flows[0]
  assert.ok(f.loss <= 0.01, `mesh loss ${f.loss}`)
  assert.ok(f.direct_loss > 0.15 && f.direct_loss < 0.25, `direct loss ${f.direct_loss}`)
  assert.deepEqual(f.path_changes.map((c) => c.path), [['a', 'b', 'c']])
  assert.equal(f.p50_ms, 24)
  assert.equal(f.direct_p50_ms, 20)
})

function withoutWall (r: SimResult): Omit<SimResult, 'wall_ms'> {
  const { wall_ms: _, ...rest } = r
  return rest
}

test('model mode: the same scenario and seed give the same result', async () => {
  const s = validateScenario({
    name: 'busy',
    duration_s: 20,
    seed: 11,
    relays: ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id })),
    default_link: { delay_ms: 15, jitter_ms: 2, loss: 0.01 },
    links: [
      { between: ['a', 'e'], state: { delay_ms: 25, burst: { p_good_to_bad: 0.02, p_bad_to_good: 0.3 } } },
      { between: ['b', 'd'], state: { delay_ms: 5 }, schedule: [{ at_s: 6, set: { loss: 0.4 } }] }
    ],
    flows: [{ id: 'f1', from: 'a', to: 'e', pps: 50 }, { id: 'f2', from: 'b', to: 'd', pps: 20, start_s: 2, stop_s: 18 }],
    events: [
      { at_s: 4, kind: 'relay_down', relay: 'c' },
      { at_s: 8, kind: 'relay_up', relay: 'c' },
      { at_s: 10, kind: 'controller_down' },
      { at_s: 12, kind: 'link', between: ['a', 'e'], set: { outage: true } },
      { at_s: 14, kind: 'controller_up' }
    ]
  })
  const [x, y] = [await runModel(s), await runModel(s)]
  assert.deepEqual(withoutWall(x), withoutWall(y))
  assert.equal(x.mode, 'model')
  assert.equal(x.events.length, 5)
  assert.ok(x.flows.every((f) => f.sent > 0))
  const other = await runModel({ ...s, seed: 12 })
  assert.notDeepEqual(withoutWall(other).flows, withoutWall(x).flows, 'another seed gives other draws')
})

test('model mode: a pair the listed topology does not connect has no direct baseline', async () => {
  const s = validateScenario({
    name: 'chain',
    duration_s: 8,
    topology: 'listed',
    relays: [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
    links: [{ between: ['a', 'b'], state: { delay_ms: 5 } }, { between: ['b', 'c'], state: { delay_ms: 5 } }],
    flows: [{ id: 'f', from: 'a', to: 'c', pps: 10 }]
  })
  const f = (await runModel(s)).flows[0]
  assert.equal(f.direct_loss, 1)
  assert.equal(f.direct_p50_ms, null)
  assert.equal(f.direct_p99_ms, null)
  assert.equal(f.loss, 0)
  assert.deepEqual(f.path_changes, [{ t_s: 0, path: ['a', 'b', 'c'] }])
})
