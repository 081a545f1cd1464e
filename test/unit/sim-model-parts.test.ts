import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { keepUnknown, planRollout } from '../../topology/rollout-plan.js'
import { LinkMonitor, TICK_PROBE, TICK_WENT_DOWN } from '../../prober/link-monitor.js'
import { TICK_MS } from '../../prober/constants.js'
import { Prng } from '../../src/prng.js'
import { MeshGraph } from '../../topology/mesh-graph.js'
import { validateScenario } from '../../sim/scenario.js'
import { EventHeap } from '../../sim/model/event-heap.js'
import { ProbeEngine } from '../../sim/model/probe-engine.js'
import { changedEntries, InstalledTables, RelayIndex } from '../../topology/route-diff.js'
import { LinkTable } from '../../sim/model/sim-link.js'
import { MonitorPool, SizedLinkMonitor } from '../../sim/model/sized-monitor.js'
import { TickWheel } from '../../sim/model/tick-wheel.js'
import { VirtualClock } from '../../sim/model/virtual-clock.js'

test('the event heap pops in time order, ties in posting order', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 300 }), (times) => {
    const h = new EventHeap(4)
    times.forEach((t, i) => { h.push(t, i, i) })
    const out: number[] = []
    while (h.size > 0) out.push(h.pop())
    const want = times.map((t, i) => ({ t, i })).sort((a, b) => a.t - b.t || a.i - b.i).map((x) => x.i)
    assert.deepEqual(out, want)
  }))
})

test('the virtual clock runs timers and typed events in time order, and implements Clock', () => {
  const c = new VirtualClock()
  const seen: string[] = []
  const kind = c.define((a, _b, _c, _d, x) => { seen.push(`event ${a} ${x}`) })
  c.setTimeout(() => { seen.push(`timeout at ${c.monoMs()}`) }, 30)
  const every = c.setInterval(() => { seen.push(`interval at ${c.now}`) }, 20)
  c.post(30, kind, 7, 0, 0, 0, 1.5)
  c.setTimeout(() => { c.clearTimer(every) }, 45)
  c.runUntil(100)
  assert.deepEqual(seen, ['interval at 20', 'timeout at 30', 'event 7 1.5', 'interval at 40'])
  assert.equal(c.now, 100)
  assert.equal(c.nowMs() - c.monoMs(), Date.UTC(2025, 0, 1))
})

test('the tick wheel hands over each id at the first tick at or after its time, earliest wins', () => {
  const w = new TickWheel(5)
  const got: Array<[number, number]> = []
  w.schedule(1, 12, 0) // tick 3 (15 ms)
  w.schedule(2, 15, 0) // tick 3
  w.schedule(3, 40, 0)
  w.schedule(3, 20, 0) // moved earlier: tick 4
  w.schedule(2, 35, 0) // later than pending: stays at tick 3
  w.cancel(1)
  for (let t = 5; t <= 60; t += 5) w.take(t, (id) => { got.push([t, id]) })
  assert.deepEqual(got, [[15, 2], [20, 3]])
})

/** A probe's fate, drawn the same for both drivers below: lost, or its round trip. */
function fates (seed: number, n: number): number[] {
  const r = new Prng(seed)
  let bad = false
  return Array.from({ length: n }, () => {
    // Bursts of loss long enough to take the link down (about 50 probes, mostly quick retries),
    // scattered loss, and RTT noise that moves the late margin.
    bad = bad ? r.next() > 0.02 : r.next() < 0.02
    return bad || r.next() < 0.1 ? -1 : 20 + r.next() * 30
  })
}

interface Trace { probes: number[], changes: Array<[number, string]> }

/** The real prober's loop: the monitor's tick at every tick; echoes at their arrival times. */
function everyTick (fate: number[], endMs: number): Trace {
  const m = new LinkMonitor(0)
  const t: Trace = { probes: [], changes: [] }
  const echoes: Array<[number, number]> = []
  for (let now = TICK_MS; now <= endMs; now += TICK_MS) {
    while (echoes.length > 0 && echoes[0][0] <= now) {
      const [at, seq] = echoes.shift() as [number, number]
      if (m.echo(at, seq, fate[seq], seq + 1, 1)) t.changes.push([at, 'up'])
    }
    const did = m.tick(now)
    if ((did & TICK_WENT_DOWN) !== 0) t.changes.push([now, 'down'])
    if ((did & TICK_PROBE) !== 0) {
      const seq = m.probeSeq - 1
      t.probes.push(now)
      if (fate[seq] > 0) echoes.push([now + fate[seq], seq])
    }
  }
  return t
}

/** The model's loop: a tick acts on the link only when nextWake or an echo says so. */
function onWake (fate: number[], endMs: number): Trace {
  const m = new SizedLinkMonitor(0, {}, TICK_MS)
  const t: Trace = { probes: [], changes: [] }
  const echoes: Array<[number, number]> = []
  let wake = -Infinity
  for (let now = TICK_MS; now <= endMs; now += TICK_MS) {
    if (now < wake && !(echoes.length > 0 && echoes[0][0] <= now)) continue
    while (echoes.length > 0 && echoes[0][0] <= now) {
      const [at, seq] = echoes.shift() as [number, number]
      if (m.echo(at, seq, fate[seq], seq + 1, 1)) t.changes.push([at, 'up'])
    }
    const did = m.tick(now)
    if ((did & TICK_WENT_DOWN) !== 0) t.changes.push([now, 'down'])
    if ((did & TICK_PROBE) !== 0) {
      const seq = m.probeSeq - 1
      t.probes.push(now)
      if (fate[seq] > 0) echoes.push([now + fate[seq], seq])
    }
    wake = m.nextWake(now, TICK_MS)
  }
  return t
}

test('probing only on nextWake makes exactly the probes and state changes of checking every tick', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const fate = fates(seed, 20_000)
    const a = everyTick(fate, 120_000)
    const b = onWake(fate, 120_000)
    assert.ok(a.changes.length > 4, `seed ${seed}: the script takes the link down and up`)
    assert.deepEqual(b, a)
  }
})

test('a sized monitor estimates exactly as the default one', () => {
  const fate = fates(9, 3000)
  const a = new LinkMonitor(0)
  const b = new SizedLinkMonitor(0, {}, TICK_MS)
  for (let seq = 0; seq < 3000; seq++) {
    const now = seq * 20
    a.probeSent(now); b.probeSent(now)
    if (fate[seq] > 0) { a.echo(now + fate[seq], seq, fate[seq], seq + 1, 1); b.echo(now + fate[seq], seq, fate[seq], seq + 1, 1) }
    if (seq % 50 === 0) assert.deepEqual(b.estimate(now + 60), a.estimate(now + 60))
  }
})

/** Every field of a monitor and of its parts, the rings' stale contents aside. */
function fields (m: LinkMonitor): unknown {
  const plain = (o: object): Record<string, unknown> => Object.fromEntries(Object.entries(o).filter(([, v]) => !ArrayBuffer.isView(v)))
  return { ...plain(m), rtt: plain(m.rtt), lossLong: plain(m.lossLong), lossShortWindow: plain(m.lossShortWindow) }
}

test('a pooled monitor, renewed, is field for field and estimate for estimate a new one', () => {
  const fate = fates(11, 2000)
  const pool = new MonitorPool({}, TICK_MS)
  const used = pool.take(0)
  for (let seq = 0; seq < 1000; seq++) {
    const now = seq * 20
    used.probeSent(now)
    used.probeReceived()
    if (fate[seq] > 0) used.echo(now + fate[seq], seq, fate[seq], seq + 1, 1)
    used.check(now)
  }
  pool.give(used)
  const renewed = pool.take(30_000)
  assert.equal(renewed, used, 'the pool hands back the monitor it was given')
  assert.equal(pool.built, 1)
  const fresh = new SizedLinkMonitor(30_000, {}, TICK_MS)
  assert.deepEqual(fields(renewed), fields(fresh))
  for (let seq = 0; seq < 1000; seq++) {
    const now = 30_000 + seq * 20
    for (const m of [renewed, fresh]) {
      m.check(now)
      if (m.probeDue(now)) m.probeSent(now)
      if (fate[1000 + seq] > 0) m.echo(now + fate[1000 + seq], seq, fate[1000 + seq], seq + 1, 2)
    }
    assert.deepEqual(renewed.estimate(now + 60), fresh.estimate(now + 60))
  }
  assert.deepEqual(fields(renewed), fields(fresh))
})

test('a link logs its outages, so an arrival can be checked against the state at that instant', () => {
  const c = new VirtualClock()
  const s = validateScenario({ name: 'x', duration_s: 10, relays: [{ id: 'a' }, { id: 'b' }] })
  const links = new LinkTable(c, s, ['a', 'b'], 1)
  const ab = links.get(0, 1)
  assert.ok(ab !== undefined)
  c.runUntil(100)
  links.applyStep(0, 1, { outage: true })
  c.runUntil(200)
  links.setRelayDown(1, true)
  c.runUntil(300)
  links.applyStep(0, 1, { outage: false })
  c.runUntil(400)
  links.setRelayDown(1, false)
  assert.deepEqual([50, 150, 250, 350, 450].map((t) => ab.outageAt(t)), [false, true, true, true, false])
  assert.equal(ab.decide(450) >= 0, true)
  assert.equal(links.get(1, 0)?.outageAt(450), false)
})

test('planning from the changed entries alone gives the plan of whole tables', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 1e6 }), (seed) => {
    const r = new Prng(seed)
    const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g']
    const g = new MeshGraph()
    // Relay g is sometimes unknown to the graph (not yet reconnected to a restarted controller).
    const inGraph = ids.filter((id) => id !== 'g' || r.next() < 0.5)
    for (const id of inGraph) g.upsertRelay(id, '127.0.0.1:7000')
    for (const x of inGraph) for (const y of inGraph) if (x !== y && r.next() < 0.5) g.updateLink(x, y, { rttMs: 5 + r.next() * 50, jitterMs: 0, loss: 0, up: r.next() < 0.9 })
    const index = new Map(ids.map((id, i) => [id, i]))
    // Installed: a random mix of the current routes, stale routes and missing entries.
    const installed = new InstalledTables(new RelayIndex(ids))
    const rows = ids.map(() => ({ next: new Int32Array(ids.length).fill(-1), backup: new Int32Array(ids.length).fill(-1) }))
    const whole = new Map(ids.map((u) => [u, new Map<string, { nextHop: string, backup: string | null }>()]))
    for (const [u, i] of index) {
      for (const [d, e] of g.tableFor(u)) {
        const pick = r.next()
        if (pick < 0.2) continue
        const entry = pick < 0.5 ? { nextHop: ids[Math.floor(r.next() * ids.length)], backup: null } : e
        rows[i].next[index.get(d) as number] = index.get(entry.nextHop) as number
        rows[i].backup[index.get(d) as number] = entry.backup === null ? -1 : index.get(entry.backup) as number
        whole.get(u)?.set(d, { nextHop: entry.nextHop, backup: entry.backup })
      }
      if (!inGraph.includes('g') && u !== 'g' && r.next() < 0.7) {
        const nh = ids[Math.floor(r.next() * 6)]
        rows[i].next[6] = index.get(nh) as number
        whole.get(u)?.set('g', { nextHop: nh, backup: null })
      }
    }
    rows.forEach((row, i) => { installed.setRow(i, row.next, row.backup) })
    const live = [0, 1, 2, 3, 4, 5, 6].filter(() => r.next() < 0.8)
    // Or g expired: known to be gone, so routes to it are withdrawn.
    const expired = !inGraph.includes('g') && r.next() < 0.5
    const desired = new Map(live.map((i) => [ids[i], keepUnknown(g.tableFor(ids[i]), whole.get(ids[i]) as Map<string, { nextHop: string, backup: string | null }>, (id) => g.hasRelay(id) || (expired && id === 'g'))]))
    const hops = (u: string, d: string): string | undefined => g.nextHop(u, d)
    const want = planRollout(new Map(live.map((i) => [ids[i], whole.get(ids[i]) as Map<string, { nextHop: string, backup: string | null }>])), desired, hops)
    const c = changedEntries(g, live, installed, (d) => expired && d === 6)
    const got = c.entries === 0 ? [] : planRollout(c.installed, c.desired, hops)
    assert.deepEqual(got, want)
    // Routes toward a relay the graph has not heard of are never withdrawn.
    if (!inGraph.includes('g') && !expired) for (const round of got) for (const part of round.parts.values()) assert.ok(!part.removals.includes('g') && part.upserts.g === undefined)
  }), { numRuns: 200 })
})

/**
 * One ProbeEngine over four relays (full mesh, jittery links) through a lossy spell, an outage and
 * a relay restart; returns every link up/down it reported and every relay's link figures read once
 * a second, as the Reporter reads them.
 */
function probeEngineRun (quiet: boolean): { changes: string[], reads: string[], probes: number, batched: number, late: number } {
  const clock = new VirtualClock()
  const ids = ['a', 'b', 'c', 'd']
  const scenario = validateScenario({
    name: 'quiet', duration_s: 200, seed: 5, topology: 'full', default_link: { delay_ms: 10, jitter_ms: 3 }, relays: ids.map((id) => ({ id })), flows: [], events: []
  })
  const links = new LinkTable(clock, scenario, ids, 5)
  const epochs = [1, 1, 1, 1]
  const changes: string[] = []
  const engine = new ProbeEngine({ clock, links, hooks: { linkChange: (o, p, up) => { changes.push(`${clock.now} ${o}>${p} ${String(up)}`) }, epoch: (r) => epochs[r] } }, { ids, monitor: {}, tickMs: TICK_MS, seed: 5, quiet })
  links.env.beforeChange = (from, to) => { engine.linkWillChange(from, to) }
  const addAll = (r: number): void => { for (let p = 0; p < ids.length; p++) if (p !== r) { engine.add(r, p); engine.add(p, r) } }
  for (let r = 0; r < ids.length; r++) addAll(r)
  clock.setInterval(() => { engine.tick() }, TICK_MS)
  const reads: string[] = []
  for (let r = 0; r < ids.length; r++) {
    clock.setTimeout(() => {
      clock.setInterval(() => { reads.push(`${clock.now} ${r} ${JSON.stringify(engine.statuses(r))}`) }, 1000)
    }, 2 + 5 * r)
  }
  const at = (s: number, fn: () => void): void => { clock.setTimeout(fn, s * 1000) }
  at(20, () => { links.applyStep(0, 1, { loss: 0.3 }) })
  at(30, () => { links.applyStep(0, 1, { loss: 0 }) })
  at(40.002, () => { links.applyStep(2, 3, { outage: true }) })
  at(45, () => { links.applyStep(2, 3, { outage: false }) })
  at(55, () => { engine.removeAll(3); links.setRelayDown(3, true) })
  at(62, () => { links.setRelayDown(3, false); epochs[3]++; addAll(3) })
  // b stops answering a, then answers again around when a's link to b times out (about 650 ms
  // after its last echo): a link that turned quiet then would go down unseen.
  for (let k = 0; k < 40; k++) {
    const t = 66 + 3 * k
    at(t, () => { engine.remove(1, 0) })
    at(t + 0.56 + 0.0025 * k, () => { engine.add(1, 0) })
  }
  clock.runUntil(200_000)
  for (let r = 0; r < ids.length; r++) engine.settle(r)
  return { changes, reads, probes: engine.probes, batched: engine.batched, late: engine.lateChanges }
}

test('quiet links probed in batches give the link changes and figures of tick-by-tick probing', () => {
  const ticked = probeEngineRun(false)
  const batched = probeEngineRun(true)
  assert.equal(ticked.batched, 0)
  // Most prober ticks of clean, up links ran in batches; none of them found a late link change.
  assert.ok(batched.batched > 5_000, `batched ticks ${batched.batched}`)
  assert.equal(batched.late, 0)
  assert.ok(ticked.changes.some((c) => c.endsWith('2>3 false')), 'the outage took a link down')
  assert.deepEqual(batched.changes, ticked.changes)
  assert.equal(batched.reads.length, ticked.reads.length)
  for (let i = 0; i < ticked.reads.length; i++) assert.equal(batched.reads[i], ticked.reads[i])
  assert.equal(batched.probes, ticked.probes)
})

test('echo queues stay small on links whose RTT exceeds the probe interval', () => {
  const clock = new VirtualClock()
  const ids = ['a', 'b']
  // 300 ms RTT against 200 ms between probes: an echo is always in flight, so a queue never empties.
  const scenario = validateScenario({ name: 'far', duration_s: 1, seed: 2, topology: 'full', default_link: { delay_ms: 150 }, relays: ids.map((id) => ({ id })), flows: [], events: [] })
  const links = new LinkTable(clock, scenario, ids, 2)
  const engine = new ProbeEngine({ clock, links, hooks: { linkChange: () => {}, epoch: () => 1 } }, { ids, monitor: {}, tickMs: TICK_MS, seed: 2, quiet: false })
  engine.add(0, 1)
  engine.add(1, 0)
  clock.setInterval(() => { engine.tick() }, TICK_MS)
  clock.runUntil(300_000)
  // 1,500 probes a link: without compaction each would leave 7 numbers behind.
  assert.ok(engine.probes > 2_900, `probes ${engine.probes}`)
  assert.ok(engine.queueRoom < 1_000, `queue room ${engine.queueRoom}`)
})
