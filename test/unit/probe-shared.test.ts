import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LinkMonitor, reportedLoss } from '../../prober/link-monitor.js'
import { TICK_MS, REPORT_CHECK_MS } from '../../prober/constants.js'
import type { LinkStatus } from '../../prober/prober.js'
import { ReportCheck, Reporter, type LinkReport } from '../../prober/reporter.js'
import { silentLogger } from '../../src/logging.js'
import { Prng } from '../../src/prng.js'
import { PacketType, relayNumber } from '../../src/wire/index.js'
import { validateScenario } from '../../sim/scenario.js'
import { ProbeEngine } from '../../sim/model/probe-engine.js'
import { LinkTable } from '../../sim/model/sim-link.js'
import { SimRelay, type MeshIndex } from '../../sim/model/sim-relay.js'
import { VirtualClock } from '../../sim/model/virtual-clock.js'
import { proberPair } from '../helpers/prober-pair.js'

test('a down link reports loss 1 in the full estimate and in the figures a report decision reads', () => {
  const m = new LinkMonitor(0)
  for (let seq = 0; seq < 20; seq++) {
    m.probeSent(seq * 20)
    if (seq % 7 !== 6) m.echo(seq * 20 + 10, seq, 10, seq + 1 - Math.floor((seq + 1) / 7), 1)
  }
  const up = m.estimate(400)
  assert.equal(up.state, 'up')
  assert.ok(up.lossShort > 0 && up.lossShort < 1, String(up.lossShort))
  assert.ok(m.check(5_000), 'silence takes the link down')
  const full = m.estimate(5_000)
  const quick = m.estimateInto(5_000, { state: 'up', rttMs: 0, jitterMs: 0, loss: 0.5, lossShort: 0.5, lossReverse: 0.5, samples: 0 }, false)
  for (const e of [full, quick]) {
    assert.equal(e.state, 'down')
    assert.deepEqual([e.loss, e.lossShort, e.lossReverse], [1, 1, 1])
  }
  assert.deepEqual({ ...quick }, { ...full })
  assert.equal(reportedLoss('up', NaN), 0, 'too few echoes to tell reads as no loss')
  assert.equal(reportedLoss('down', 0), 1)
})

/**
 * Two relays a and b over a clean link of one-way delay 10.5 ms that turns to 40.5 ms at
 * `stepAt`, run by the daemon's own Prober and Reporter on a manual clock: a's reports and the
 * times its probes went out.
 */
function daemonRun (endMs: number, stepAt: number): { reports: LinkReport[], probes: number[] } {
  const probes: number[] = []
  const { clock, a, b } = proberPair({
    delayMs: (now) => now < stepAt ? 10.5 : 40.5,
    onSend: (from, h, now) => { if (from === 'a' && h.type === PacketType.PROBE) probes.push(now) }
  })
  a.start(); b.start()
  const reports: LinkReport[] = []
  // Created after the probers' timers, so at a shared instant the probers' tick runs first.
  new Reporter({ clock }, { relay: 'a', source: () => a.status(), sink: (r) => reports.push(r) }).start()
  clock.advance(endMs)
  return { reports, probes }
}

/**
 * The same in model mode: the probe engine and a's SimRelay reporting. Tick by tick: a quiet link
 * run in batches shows an RTT change only at the next scheduled report (a documented departure,
 * probe-engine.ts; sim-model-parts.test.ts holds batching to tick-by-tick probing).
 */
function modelRun (endMs: number, stepAt: number): LinkReport[] {
  const clock = new VirtualClock()
  const ids = ['a', 'b']
  const scenario = validateScenario({ name: 'shared', duration_s: 60, seed: 3, topology: 'full', default_link: { delay_ms: 10.5 }, relays: ids.map((id) => ({ id })), flows: [], events: [] })
  const links = new LinkTable(clock, scenario, ids, 3)
  const relays: SimRelay[] = []
  const engine = new ProbeEngine({ clock, links, hooks: { linkChange: () => {}, epoch: () => 1 } }, { ids, monitor: {}, tickMs: TICK_MS, seed: 3, quiet: false })
  links.env.beforeChange = (from, to) => { engine.linkWillChange(from, to) }
  const mesh: MeshIndex = { ids, index: new Map(ids.map((id, i) => [id, i])), byNumber: new Map(ids.map((id, i) => [relayNumber(id), i])), address: (i) => `10.0.0.${i}:4000` }
  const reports: LinkReport[] = []
  for (let i = 0; i < ids.length; i++) {
    relays.push(new SimRelay({ clock, logger: silentLogger(), probes: engine, hooks: { report: (r, rep) => { if (r === 0) reports.push(rep) }, routesChanged: () => {} } }, { index: i, mesh, watched: new Set() }))
    relays[i].start()
  }
  relays[0].setNeighbours([1])
  relays[1].setNeighbours([0])
  clock.setTimeout(() => { links.applyStep(0, 1, { delay_ms: 40.5 }); links.applyStep(1, 0, { delay_ms: 40.5 }) }, stepAt)
  // The prober's tick, then, every REPORT_CHECK_MS, the Reporter's check: the daemon's order.
  clock.setInterval(() => {
    engine.tick()
    if (Math.round(clock.now) % REPORT_CHECK_MS === 0) relays[0].checkReport()
  }, TICK_MS)
  clock.runUntil(endMs)
  return reports
}

test('the model\'s probe engine and relay report what the daemon\'s Prober and Reporter report for the same probe outcomes', () => {
  const end = 20_000
  // The delay steps midway between two probes, when none is in flight in either direction.
  const first = daemonRun(end, Infinity)
  const before = first.probes.filter((t) => t < 8_000)
  const stepAt = before[before.length - 1] + 100
  const daemon = daemonRun(end, stepAt).reports
  const model = modelRun(end, stepAt)
  assert.ok(daemon.some((r) => r.trigger === 'state') && daemon.some((r) => r.trigger === 'threshold') && daemon.filter((r) => r.trigger === 'schedule').length > 10, JSON.stringify(daemon.map((r) => r.trigger)))
  assert.deepEqual(model, daemon)
})

test('a model relay decides on the links that changed and reports what the daemon\'s Reporter reports', () => {
  const r = new Prng(17)
  const peers = ['b', 'c', 'd']
  const figures = peers.map((peer): LinkStatus => ({ peer, state: 'down', rttMs: NaN, jitterMs: 0, loss: 1, lossShort: 1, lossReverse: 1, samples: 0 }))
  const daemon = new ReportCheck('a')
  const model = new ReportCheck('a')
  const copy = (): LinkStatus[] => figures.map((f) => ({ ...f }))
  let changed: LinkStatus[] = copy()
  for (let now = 0; now < 60_000; now += REPORT_CHECK_MS) {
    // Some links move; the model is told only about those, as the probe engine's `changed` does.
    const moved = new Set<number>()
    for (let i = 0; i < figures.length; i++) {
      if (r.next() > 0.1) continue
      moved.add(i)
      const f = figures[i]
      if (r.next() < 0.1) f.state = f.state === 'up' ? 'down' : 'up'
      const down = f.state === 'down'
      f.rttMs = 20 + r.next() * 20
      f.samples++
      f.lossShort = down ? 1 : r.next() < 0.5 ? 0 : r.next() * 0.4
      f.loss = down ? 1 : f.lossShort / 2
      f.lossReverse = down ? 1 : 0
    }
    for (const i of moved) changed.push({ ...figures[i] })
    const all = copy()
    const a = daemon.check(now, all)
    const b = model.check(now, changed, () => copy())
    changed = []
    assert.deepEqual(b, a, `at ${now} ms`)
  }
})
