import { test } from 'node:test'
import assert from 'node:assert/strict'
import { LinkMonitor } from '../../prober/link-monitor.js'
import { LossWindow } from '../../prober/loss-window.js'
import { RttEstimator } from '../../prober/rtt-estimator.js'
import { ImpairmentModel } from '../../src/transport/impair/model.js'

test('the RTT estimator converges on a steady RTT with zero jitter', () => {
  const e = new RttEstimator()
  for (let i = 0; i < 100; i++) e.sample(40)
  assert.equal(e.srtt, 40)
  assert.ok(e.rttvar < 0.01)
  assert.equal(e.jitter, 0)
  assert.equal(e.samples, 100)
})

test('jitter tracks the mean change between consecutive RTT samples', () => {
  const e = new RttEstimator()
  for (let i = 0; i < 500; i++) e.sample(i % 2 === 0 ? 40 : 44)
  assert.ok(Math.abs(e.jitter - 4) < 0.1, String(e.jitter))
  assert.ok(Math.abs(e.srtt - 42) < 1)
})

test('the loss window separates forward and reverse loss using the counters in echoes', () => {
  const w = new LossWindow(10_000)
  // 100 probes sent; the peer received 80 (20% forward loss) and 60 of its 80 echoes came back.
  let rx = 0; let t = 0
  for (let seq = 0; seq < 100; seq++) {
    t += 100
    const arrived = seq % 5 !== 4 // every fifth probe lost on the way out
    if (!arrived) continue
    rx++
    const echoBack = rx % 4 !== 0 // every fourth echo lost on the way back
    if (echoBack) w.add(t, seq, rx)
  }
  assert.ok(Math.abs(w.forward(t) - 0.2) < 0.02, String(w.forward(t)))
  assert.ok(Math.abs(w.reverse(t) - 0.25) < 0.02, String(w.reverse(t)))
})

test('the loss window forgets samples older than its span', () => {
  const w = new LossWindow(1000)
  w.add(0, 0, 1); w.add(100, 10, 2) // 90% loss long ago
  for (let i = 1; i <= 30; i++) w.add(100 + i * 100, 10 + i, 2 + i)
  assert.equal(w.forward(3100), 0)
  assert.ok(w.probes(3100) <= 11)
})

/**
 * Drives a LinkMonitor against a simulated link on a virtual clock: each probe crosses an
 * impairment model each way with a fixed one-way delay. Returns the link-state changes.
 */
function simulate (m: LinkMonitor, ms: number, oneWay: number, fwd: ImpairmentModel, rev: ImpairmentModel, outageAt = Infinity, from = 0): Array<[number, string]> {
  const changes: Array<[number, string]> = []
  const inflight: Array<{ at: number, seq: number, sent: number, rx: number }> = []
  let rx = 0
  for (let now = from; now < from + ms; now++) {
    const out = now >= outageAt
    for (let i = inflight.length - 1; i >= 0; i--) {
      const e = inflight[i]
      if (e.at > now) continue
      inflight.splice(i, 1)
      // An outage also loses what is in flight (as the emulator's DelayLine does).
      if (out) continue
      if (m.echo(now, e.seq, now - e.sent, e.rx, 1)) changes.push([now, 'up'])
    }
    if (m.check(now)) changes.push([now, 'down'])
    if (m.probeDue(now)) {
      const seq = m.probeSent(now)
      if (out || fwd.decide(now) < 0) continue
      rx++
      if (rev.decide(now + oneWay) < 0) continue
      inflight.push({ at: now + 2 * oneWay, seq, sent: now, rx })
    }
  }
  return changes
}

test('a clean link comes up after five echoes and stays up', () => {
  const m = new LinkMonitor(0)
  const changes = simulate(m, 10_000, 10, new ImpairmentModel(), new ImpairmentModel())
  assert.deepEqual(changes.map((c) => c[1]), ['up'])
  assert.ok(changes[0][0] < 500, `up at ${changes[0][0]} ms`)
})

test('a blackholed link is declared down within 3 intervals + RTT + 50 ms', () => {
  for (const oneWay of [10, 50, 150]) {
    const m = new LinkMonitor(0)
    const changes = simulate(m, 10_000, oneWay, new ImpairmentModel(), new ImpairmentModel(), 5000)
    const down = changes.find((c) => c[1] === 'down')
    assert.ok(down !== undefined, `no down at one-way ${oneWay}`)
    const budget = 3 * 200 + 2 * oneWay + 50
    assert.ok(down[0] - 5000 <= budget, `detected after ${down[0] - 5000} ms, budget ${budget}`)
  }
})

test('a link at 30% loss each way is never declared down in ten simulated minutes', () => {
  const m = new LinkMonitor(0)
  const changes = simulate(m, 600_000, 50, new ImpairmentModel({ loss: 0.3 }, 7), new ImpairmentModel({ loss: 0.3 }, 8))
  assert.deepEqual(changes.map((c) => c[1]), ['up'])
  const est = m.estimate(600_000)
  assert.ok(Math.abs(est.loss - 0.3) < 0.08, `forward loss ${est.loss}`)
  assert.ok(Math.abs(est.lossReverse - 0.3) < 0.08, `reverse loss ${est.lossReverse}`)
})

test('quick retries speed probing only while an echo is overdue', () => {
  const m = new LinkMonitor(0)
  simulate(m, 3000, 5, new ImpairmentModel(), new ImpairmentModel())
  assert.equal(m.currentInterval(3000), 200)
  // Silence: the next echo is overdue after one interval plus the margin.
  assert.equal(m.currentInterval(3000 + 400), 20)
})

test('alert probing: a link turning 30% lossy is sampled every 25 ms and its short-window loss passes 20% within 3 s', () => {
  const detected: number[] = []
  for (let seed = 1; seed <= 20; seed++) {
    const m = new LinkMonitor(0)
    const fwd = new ImpairmentModel({}, seed); const rev = new ImpairmentModel({}, 1000 + seed)
    simulate(m, 10_000, 5, fwd, rev)
    assert.equal(m.currentInterval(10_000), 200)
    fwd.set({ loss: 0.3 }); rev.set({ loss: 0.3 })
    let at = Infinity
    let alerted = false
    for (let t = 10_000; t < 13_000; t += 50) {
      simulate(m, 50, 5, fwd, rev, Infinity, t)
      alerted ||= m.currentInterval(t + 50) === 25
      if (at === Infinity && m.estimate(t + 50).lossShort >= 0.2) at = t + 50 - 10_000
    }
    assert.ok(alerted, `seed ${seed}: never probed at the alert interval`)
    detected.push(at)
  }
  assert.ok(detected.every((t) => t <= 3000), `detection times ${detected.join(', ')} ms`)
})

test('alert probing stays brief on a link with 1% loss', () => {
  const probes = (loss: number): number => {
    const m = new LinkMonitor(0)
    simulate(m, 120_000, 5, new ImpairmentModel({ loss }, 3), new ImpairmentModel({ loss }, 4))
    return m.probeSeq
  }
  const clean = probes(0)
  const lossy = probes(0.01)
  assert.ok(lossy < 2.5 * clean, `${lossy} probes at 1% loss against ${clean} clean`)
})

test('a link reported down comes back up after recovery', () => {
  const m = new LinkMonitor(0)
  const fwd = new ImpairmentModel(); const rev = new ImpairmentModel()
  simulate(m, 5000, 20, fwd, rev, 2000)
  assert.equal(m.state, 'down')
  const changes = simulate(m, 5000, 20, fwd, rev, Infinity, 5000)
  assert.equal(changes[0]?.[1], 'up')
  assert.ok(changes[0][0] - 5000 < 2000, `up ${changes[0][0] - 5000} ms after recovery`)
})

test('a down link reports loss 1', () => {
  const m = new LinkMonitor(0)
  assert.equal(m.estimate(0).loss, 1)
})
