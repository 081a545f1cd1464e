import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ControlLinkReport } from '../../src/control/messages.js'
import { COMPUTE_DELAY_MS, LARGE_MESH_COMPUTE_SPACING_MS, LARGE_MESH_RELAYS, REBUILD_MIN_CHANGES } from '../../controller/constants.js'
import { ControllerCore } from '../../controller/core/controller-core.js'
import type { CoreCommand, CoreEvent } from '../../controller/core/types.js'
import { DEFAULT_NEIGHBOUR_POLICY } from '../../topology/neighbours.js'

/** A core driven by hand: events at given times, commands collected; timers are fired by the test. */
function harness (relays: number): { core: ControllerCore, at: (now: number, ev: CoreEvent) => CoreCommand[], ids: string[] } {
  const core = new ControllerCore({ instanceId: 't', neighbourPolicy: DEFAULT_NEIGHBOUR_POLICY, relayExpiryMs: 60_000, computeSpacingMs: 'auto', rebuildMinChanges: REBUILD_MIN_CHANGES })
  const at = (now: number, ev: CoreEvent): CoreCommand[] => core.handle(ev, now)
  const ids = Array.from({ length: relays }, (_, i) => `r${i}`)
  at(0, { type: 'start' })
  at(0, { type: 'elected', fence: 7 })
  at(0, { type: 'restored', state: undefined })
  ids.forEach((id, i) => {
    at(1, { type: 'register', conn: i + 1, relay: id, address: `127.0.0.1:${7000 + i}`, boot: `boot-${id}-0000`, caps: [], tableVersion: 0, table: {}, wallMs: 0 })
  })
  return { core, at, ids }
}

function report (relay: string, peers: string[], rtt: number, trigger: ControlLinkReport['trigger'] = 'schedule'): CoreEvent {
  return { type: 'report', relay, report: { relay, seq: 1, trigger, links: peers.map((peer) => ({ peer, up: true, rtt_ms: rtt, jitter_ms: 0, loss: 0, loss_short: 0, samples: 10 })) } }
}

const timers = (cmds: CoreCommand[], name: string): number[] => cmds.flatMap((c) => c.type === 'set-timer' && c.timer === name ? [c.ms] : [])

test('a small mesh computes at the debounce; tables go out only once the version is answered, with the fence', () => {
  const { at, ids } = harness(3)
  // Settling ends with every live relay's first report.
  let cmds: CoreCommand[] = []
  for (const id of ids) cmds = at(10, report(id, ids.filter((x) => x !== id), 10))
  assert.deepEqual(timers(cmds, 'compute'), [COMPUTE_DELAY_MS])
  cmds = at(20, { type: 'timer', timer: 'compute' })
  assert.deepEqual(cmds.map((c) => c.type), ['reserve-version'], 'a plan waits for its version before anything is sent')
  cmds = at(25, { type: 'version', value: 41 })
  const tables = cmds.filter((c) => c.type === 'table')
  assert.ok(tables.length > 0)
  for (const t of tables) assert.ok(t.type === 'table' && t.version === 41 && t.fence === 7)
})

test('deposed while the version is asked for, the core sends no table', () => {
  const { at, ids } = harness(3)
  for (const id of ids) at(10, report(id, ids.filter((x) => x !== id), 10))
  assert.deepEqual(at(20, { type: 'timer', timer: 'compute' }).map((c) => c.type), ['reserve-version'])
  const deposed = at(21, { type: 'deposed' })
  assert.ok(deposed.every((c) => c.type === 'role' && c.role === 'standby' && c.fence === 0))
  assert.equal(at(25, { type: 'version', value: 5 }).filter((c) => c.type === 'table').length, 0)
})

test(`beyond ${LARGE_MESH_RELAYS} relays, computations are spaced ${LARGE_MESH_COMPUTE_SPACING_MS} ms apart and reports wait for the next`, () => {
  const { at, ids } = harness(LARGE_MESH_RELAYS + 1)
  const ring = (i: number): string[] => [ids[(i + 1) % ids.length], ids[(i + ids.length - 1) % ids.length]]
  for (const [i, id] of ids.entries()) at(10, report(id, ring(i), 10))
  // Settled: neighbours selected; the first computation runs at the debounce.
  at(1_000, { type: 'timer', timer: 'push' })
  at(1_010, { type: 'timer', timer: 'compute' })
  // A change reported right after waits for the spacing, not the debounce.
  const cmds = at(1_020, report(ids[0], ring(0), 200, 'threshold'))
  assert.deepEqual(timers(cmds, 'compute'), [1_010 + LARGE_MESH_COMPUTE_SPACING_MS - 1_020])
})

test(`beyond ${LARGE_MESH_RELAYS} relays, a report that changes nothing computes nothing, and a link going down skips the spacing`, () => {
  const { at, ids } = harness(LARGE_MESH_RELAYS + 1)
  const ring = (i: number): string[] => [ids[(i + 1) % ids.length], ids[(i + ids.length - 1) % ids.length]]
  for (const [i, id] of ids.entries()) at(10, report(id, ring(i), 10))
  at(1_000, { type: 'timer', timer: 'push' })
  at(1_010, { type: 'timer', timer: 'compute' })
  // The same figures again, on schedule: taken in, no computation asked for.
  assert.deepEqual(timers(at(1_020, report(ids[0], ring(0), 10.5)), 'compute'), [])
  // One link down: a computation at once, not at the next spaced slot.
  const down = report(ids[0], ring(0), 10, 'state')
  if (down.type === 'report') down.report.links[0].up = false
  assert.deepEqual(timers(at(1_030, down), 'compute'), [0])
})

/** Fires round timeouts 300 ms apart, the first at `now` + 300, until the rollout is done; returns the last commands and time. */
function finishRollout (at: (now: number, ev: CoreEvent) => CoreCommand[], now: number): { cmds: CoreCommand[], now: number } {
  for (let i = 0; i < 200; i++) {
    now += 300
    const cmds = at(now, { type: 'timer', timer: 'round' })
    if (timers(cmds, 'round').length === 0) return { cmds, now }
  }
  throw new Error('the rollout never ended')
}

test(`beyond ${LARGE_MESH_RELAYS} relays, a computation asked for during a rollout runs a spacing after that rollout ends, or at once for a link gone down`, () => {
  for (const linkDown of [false, true]) {
    const { at, ids } = harness(LARGE_MESH_RELAYS + 1)
    const ring = (i: number): string[] => [ids[(i + 1) % ids.length], ids[(i + ids.length - 1) % ids.length]]
    for (const [i, id] of ids.entries()) at(10, report(id, ring(i), 10))
    at(1_000, { type: 'timer', timer: 'push' })
    assert.deepEqual(at(1_010, { type: 'timer', timer: 'compute' }).map((c) => c.type), ['reserve-version'])
    // Nobody acknowledges: the rollout goes round by round on the timeout.
    assert.ok(at(1_011, { type: 'version', value: 3 }).some((c) => c.type === 'table'))
    const change = report(ids[0], ring(0), 200, linkDown ? 'state' : 'threshold')
    if (linkDown && change.type === 'report') change.report.links[0].up = false
    at(1_020, change)
    // Its timer fires while the rollout is still going: the computation waits for the rollout.
    assert.deepEqual(at(linkDown ? 1_020 : 2_010, { type: 'timer', timer: 'compute' }).filter((c) => c.type === 'reserve-version'), [])
    // The first round is slow to time out (a busy controller), so the rollout outlasts the spacing.
    const { cmds, now } = finishRollout(at, 2_100)
    assert.ok(now > 1_010 + LARGE_MESH_COMPUTE_SPACING_MS, 'the rollout outlasts the spacing')
    assert.deepEqual(timers(cmds, 'compute'), [linkDown ? 0 : LARGE_MESH_COMPUTE_SPACING_MS])
  }
})
