import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { ConfigError } from '../../src/errors.js'
import { initialLinkState, linkTimeline, loadScenario, oneWayDelayMs, validateScenario, type LinkState, type Scenario } from '../../sim/scenario.js'
import { latencyLossPolicy, materialChange } from '../../topology/cost.js'

/** The repository root, found by walking up: the compiled test runs from dist/ or a .build-* dir. */
function repoRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'examples', 'scenarios'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error('examples/scenarios not found above the test')
    dir = up
  }
  return dir
}
const SCENARIOS = join(repoRoot(), 'examples', 'scenarios')
const load = async (name: string): Promise<Scenario> => await loadScenario(join(SCENARIOS, name))

/** The directed link's state at time t: its start state with every earlier change applied. */
function stateAt (s: Scenario, from: string, to: string, t: number): LinkState | undefined {
  const start = initialLinkState(s, from, to)
  if (start === undefined) return undefined
  return linkTimeline(s).filter((c) => c.from === from && c.to === to && c.at_s <= t).reduce<LinkState>((st, c) => ({ ...st, ...c.set }), start)
}

/**
 * The controller's cost of a path at time t, taking the emulator's settings as what the prober
 * would measure (RTT = 2 × delay). Enough to check that a scenario sets up the contest it claims.
 */
function pathCost (s: Scenario, path: string[], t: number): number {
  let sum = 0
  for (let i = 1; i < path.length; i++) {
    const st = stateAt(s, path[i - 1], path[i], t)
    if (st === undefined) return Infinity
    sum += latencyLossPolicy.cost({ rttMs: 2 * (st.delay_ms ?? 0), jitterMs: st.jitter_ms ?? 0, loss: st.loss ?? 0, up: st.outage !== true })
  }
  return sum
}

test('every example scenario loads and validates', async () => {
  const files = (await readdir(SCENARIOS)).filter((f) => /\.(ya?ml|json)$/.test(f)).sort()
  for (const want of ['continental-12.yaml', 'flapping-link.yaml', 'lossy-transit.yaml', 'scale-1000.yaml', 'triangle-failover.yaml']) {
    assert.ok(files.includes(want), `${want} is in examples/scenarios`)
  }
  for (const f of files) {
    const s = await load(f)
    assert.equal(s.name, f.replace(/\.(ya?ml|json)$/, ''), `${f}: name matches the file`)
    assert.ok(s.flows.length > 0, `${f}: has flows`)
    for (const fl of s.flows) assert.ok(fl.start_s < s.duration_s, `${f}: ${fl.id} starts within the run`)
  }
})

test('triangle-failover: a–c is cheapest, fails from 20 s to 40 s, and a–b–c stays available', async () => {
  const s = await load('triangle-failover.yaml')
  assert.deepEqual(s.relays.map((r) => r.id), ['a', 'b', 'c'])
  assert.deepEqual(s.flows.map((f) => [f.from, f.to, f.pps]), [['a', 'c', 50]])
  assert.ok(s.duration_s >= 55 && s.duration_s <= 65)
  assert.ok(pathCost(s, ['a', 'c'], 10) < pathCost(s, ['a', 'b', 'c'], 10))
  assert.equal(pathCost(s, ['a', 'c'], 25), Infinity)
  assert.equal(stateAt(s, 'c', 'a', 25)?.outage, true, 'both directions fail')
  assert.ok(Number.isFinite(pathCost(s, ['a', 'b', 'c'], 25)))
  assert.ok(pathCost(s, ['a', 'c'], 45) < pathCost(s, ['a', 'b', 'c'], 45))
})

test('lossy-transit: direct a–c loses 20% throughout and the clean detour wins on cost', async () => {
  const s = await load('lossy-transit.yaml')
  for (const t of [0, 30, 59]) {
    assert.equal(stateAt(s, 'a', 'c', t)?.loss, 0.2)
    assert.equal(stateAt(s, 'a', 'b', t)?.loss ?? 0, 0)
    assert.equal(stateAt(s, 'b', 'c', t)?.loss ?? 0, 0)
  }
  const direct = pathCost(s, ['a', 'c'], 30)
  const detour = pathCost(s, ['a', 'b', 'c'], 30)
  assert.ok(detour < direct / 1.5, `detour ${detour} well below direct ${direct}`)
  // Competitive on raw delay too: the mesh is not buying loss with a much slower path.
  assert.ok((stateAt(s, 'a', 'b', 0)?.delay_ms ?? 0) + (stateAt(s, 'b', 'c', 0)?.delay_ms ?? 0) <= 1.25 * (stateAt(s, 'a', 'c', 0)?.delay_ms ?? 0))
})

test('continental-12: twelve located relays, distance-derived delays, a loss fault and an outage', async () => {
  const s = await load('continental-12.yaml')
  assert.equal(s.relays.length, 12)
  assert.equal(s.topology, 'full')
  for (const r of s.relays) assert.ok(r.location !== undefined, `${r.id} has a location`)
  const loc = (id: string): { lat: number, lon: number } => s.relays.find((r) => r.id === id)?.location as { lat: number, lon: number }
  const lonNyc = stateAt(s, 'lon', 'nyc', 0)?.delay_ms ?? 0
  assert.equal(lonNyc, oneWayDelayMs(loc('lon'), loc('nyc')))
  assert.ok(lonNyc > 35 && lonNyc < 50, `London–New York ${lonNyc} ms one way`)
  assert.ok(s.events.some((e) => e.kind === 'link' && (e.set?.loss ?? 0) > 0), 'a loss fault')
  assert.ok(s.events.some((e) => e.kind === 'link' && e.set?.outage === true), 'an outage')
  assert.ok(pathCost(s, ['lon', 'nyc'], 40) > pathCost(s, ['lon', 'par', 'nyc'], 40), 'the fault makes a detour worth taking')
  assert.ok(pathCost(s, ['gru', 'par', 'fra'], 0) < pathCost(s, ['gru', 'fra'], 0), 'the badly routed pair is beaten by the mesh')
})

test('flapping-link: noise stays under the hysteresis threshold, then a–c flaps every few seconds', async () => {
  const s = await load('flapping-link.yaml')
  const direct = (t: number): number => pathCost(s, ['a', 'c'], t)
  const detour = pathCost(s, ['a', 'b', 'c'], 0)
  assert.ok(direct(5) < detour)
  // In the wobble the cheapest path flips, but by less than a link cost must move to count.
  assert.ok(direct(15) > detour, 'a naive router would flip')
  assert.ok(!materialChange(direct(5), direct(15)), 'hysteresis should not')
  // From 30 s to 60 s a–c is bad (≥30% loss or down) and clean in turn, several times.
  let flips = 0
  let bad = false
  for (let t = 30; t < 60; t += 0.5) {
    const st = stateAt(s, 'a', 'c', t)
    const nowBad = st?.outage === true || (st?.loss ?? 0) >= 0.3
    if (t > 30 && nowBad !== bad) flips++
    bad = nowBad
  }
  assert.ok(flips >= 8, `${flips} flips`)
  assert.equal(direct(70), direct(5), 'a–c is back to its clean state after the flapping')
})

test('scale-1000: 1,000 located relays r0000…r0999, 600 s, about ten events, a reasonable file', async () => {
  const path = join(SCENARIOS, 'scale-1000.yaml')
  assert.ok((await stat(path)).size < 200_000)
  const s = await loadScenario(path)
  assert.equal(s.relays.length, 1000)
  assert.equal(s.duration_s, 600)
  assert.equal(s.relays[0].id, 'r0000')
  assert.equal(s.relays[999].id, 'r0999')
  assert.ok(s.relays.every((r) => r.location !== undefined))
  assert.ok(s.events.length >= 8 && s.events.length <= 12)
  assert.ok(s.events.some((e) => e.kind === 'relay_down') && s.events.some((e) => e.kind === 'relay_up'))
})

test('scale-1000.yaml is exactly what gen-scale.mjs generates', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rm-gen-'))
  try {
    const out = join(dir, 'scale.yaml')
    await promisify(execFile)(process.execPath, [join(SCENARIOS, 'gen-scale.mjs'), out])
    assert.equal(await readFile(out, 'utf8'), await readFile(join(SCENARIOS, 'scale-1000.yaml'), 'utf8'))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

const base = (): Record<string, unknown> => ({
  name: 'x',
  duration_s: 10,
  relays: [{ id: 'a' }, { id: 'b' }],
  flows: [{ id: 'f1', from: 'a', to: 'b' }]
})

function rejects (doc: Record<string, unknown>, pattern: RegExp): void {
  assert.throws(() => validateScenario(doc, 'test.yaml'), (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err))
    assert.match(err.message, /^test\.yaml: /)
    assert.match(err.message, pattern)
    assert.ok(!err.message.includes('\n'), 'one line')
    return true
  })
}

test('validateScenario fills the documented defaults', () => {
  const s = validateScenario(base())
  assert.equal(s.seed, 1)
  assert.equal(s.topology, 'full')
  assert.deepEqual(s.default_link, { delay_ms: 20 })
  assert.deepEqual(s.flows[0], { id: 'f1', from: 'a', to: 'b', pps: 50, size: 200, class: 'audio', start_s: 0 })
  assert.deepEqual(initialLinkState(s, 'a', 'b'), { delay_ms: 20 })
})

test('validateScenario names the path of a bad entry in one line', () => {
  rejects({ ...base(), flows: [{ id: 'f1', from: 'a', to: 'z' }] }, /flows\.0\.to: relay 'z' is not in relays/)
  rejects({ ...base(), relays: [{ id: 'a' }, { id: 'a' }] }, /relays\.1\.id: relay 'a' is listed twice/)
  rejects({ ...base(), events: [{ at_s: 11, kind: 'relay_down', relay: 'a' }] }, /events\.0\.at_s: at_s 11 is after duration_s 10/)
  rejects({ ...base(), flows: [{ id: 'f1', from: 'a', to: 'b' }, { id: 'f1', from: 'b', to: 'a' }] }, /flows\.1\.id: flow 'f1' is listed twice/)
  rejects({ ...base(), flows: [{ id: 'f1', from: 'a', to: 'b', start_s: 5, stop_s: 5 }] }, /flows\.0\.stop_s/)
  rejects({ ...base(), links: [{ between: ['a', 'b'] }, { between: ['b', 'a'] }] }, /links\.1\.between: link a–b is listed twice/)
  rejects({ ...base(), events: [{ at_s: 5, kind: 'link', between: ['a', 'b'] }] }, /events\.0: a link event needs between and set/)
  rejects({ ...base(), links: [{ between: ['a', 'b'], state: { loss: 1.5 } }] }, /links\.0\.state\.loss: /)
  rejects({ ...base(), relays: [{ id: 'a', loc: { lat: 1, lon: 2 } }, { id: 'b' }] }, /relays\.0: .*loc/)
  rejects({ ...base(), relays: [{ id: 'a' }] }, /relays: /)
  rejects({ ...base(), flows: [{ id: 'f1', from: 'a', to: 'a' }] }, /flows\.0: a flow needs two different relays/)
  rejects({ ...base(), duration_s: undefined }, /duration_s: /)
})

test('loadScenario explains a missing file and a file that does not parse', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rm-scn-'))
  try {
    await assert.rejects(loadScenario(join(dir, 'nope.yaml')), (err: unknown) => err instanceof ConfigError && /cannot read scenario .*ENOENT/.test(err.message))
    const bad = join(dir, 'bad.yaml')
    await writeFile(bad, 'name: [unclosed\n')
    await assert.rejects(loadScenario(bad), (err: unknown) => err instanceof ConfigError && /does not parse/.test(err.message) && !err.message.includes('\n'))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
