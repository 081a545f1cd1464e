import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { applyPart, planRollout, type DesiredEntry } from '../../topology/rollout-plan.js'
import { MeshGraph } from '../../topology/mesh-graph.js'

type Tables = Map<string, Map<string, DesiredEntry>>

function tablesOf (g: MeshGraph): Tables {
  return new Map(g.relayIds().map((id) => [id, g.tableFor(id)]))
}

/** True when following next hops toward every destination from every relay never revisits a relay. */
function loopFree (t: Tables): boolean {
  const ids = [...t.keys()]
  for (const d of ids) {
    for (const start of ids) {
      const seen = new Set<string>()
      let x: string | undefined = start
      while (x !== undefined && x !== d) {
        if (seen.has(x)) return false
        seen.add(x)
        x = t.get(x)?.get(d)?.nextHop
      }
    }
  }
  return true
}

function clone (t: Tables): Tables {
  return new Map([...t].map(([k, v]) => [k, new Map(v)]))
}

test('planRollout puts each changed entry one round after the next-hop changes below it on its new path, removals first', () => {
  // New routes toward c: a → d → e → c, with d's next hop changing and e's not; f → a also changes.
  const next: Record<string, string> = { a: 'd', d: 'e', e: 'c', f: 'a' }
  const installed: Tables = new Map([
    ['a', new Map([['c', { nextHop: 'b', backup: null }], ['x', { nextHop: 'b', backup: null }]])],
    ['d', new Map([['c', { nextHop: 'b', backup: null }]])],
    ['e', new Map([['c', { nextHop: 'c', backup: null }]])],
    ['f', new Map([['c', { nextHop: 'b', backup: null }]])]
  ])
  const desired: Tables = new Map([
    ['a', new Map([['c', { nextHop: 'd', backup: 'b' }], ['d', { nextHop: 'd', backup: null }]])],
    ['d', new Map([['c', { nextHop: 'e', backup: null }]])],
    // A backup change only: it waits for nothing and holds nobody back.
    ['e', new Map([['c', { nextHop: 'c', backup: 'd' }]])],
    ['f', new Map([['c', { nextHop: 'a', backup: null }]])]
  ])
  const plan = planRollout(installed, desired, (u, d) => (d === 'c' ? next[u] : d))
  assert.deepEqual(plan.map((r) => r.round), [0, 1, 2, 3])
  assert.deepEqual(plan[0].parts.get('a'), { upserts: {}, removals: ['x'] })
  assert.deepEqual([...plan[1].parts.keys()].sort(), ['a', 'd', 'e'])
  assert.deepEqual(plan[1].parts.get('a')?.upserts, { d: { next_hop: 'd', backup: null } })
  assert.deepEqual(plan[2].parts.get('a')?.upserts, { c: { next_hop: 'd', backup: 'b' } })
  assert.deepEqual(plan[3].parts.get('f')?.upserts, { c: { next_hop: 'a', backup: null } })
})

test('planRollout sends every route toward a destination no relay had a route to in round 1', () => {
  // New relay x, reached over a → b → x; a and b also get a backup change toward c, which no one reroutes.
  const next: Record<string, string> = { a: 'b', b: 'x' }
  const installed: Tables = new Map([['a', new Map([['c', { nextHop: 'c', backup: null }]])], ['b', new Map()]])
  const desired: Tables = new Map([
    ['a', new Map([['x', { nextHop: 'b', backup: null }], ['c', { nextHop: 'c', backup: 'b' }]])],
    ['b', new Map([['x', { nextHop: 'x', backup: null }]])]
  ])
  const plan = planRollout(installed, desired, (u, d) => (d === 'x' ? next[u] : d))
  assert.deepEqual(plan.map((r) => r.round), [1])
  assert.deepEqual([...plan[0].parts.keys()].sort(), ['a', 'b'])
})

test('planRollout sends nothing when the tables already match', () => {
  const t: Tables = new Map([['a', new Map([['b', { nextHop: 'b', backup: null }]])]])
  assert.deepEqual(planRollout(t, clone(t), () => undefined), [])
})

test('no forwarding loop forms at any point of a rollout, in any order that applies each part after the parts it waits for', () => {
  fc.assert(fc.property(
    fc.integer({ min: 4, max: 9 }),
    fc.array(fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 60 })), { minLength: 8, maxLength: 40 }),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 200 })), { minLength: 1, maxLength: 6 }),
    fc.integer(),
    (n, links, changes, seed) => {
      const g = new MeshGraph()
      const ids = Array.from({ length: n }, (_, i) => `r${i}`)
      for (const id of ids) g.upsertRelay(id, `127.0.0.1:${7000 + ids.indexOf(id)}`)
      const pairs: Array<[string, string]> = []
      for (let i = 0; i < n; i++) pairs.push([ids[i], ids[(i + 1) % n]])
      for (const [x, y] of links) if (x % n !== y % n) pairs.push([ids[x % n], ids[y % n]])
      const rtt = new Map<string, number>()
      for (const [i, [x, y]] of pairs.entries()) {
        const ms = links[i % links.length][2]
        rtt.set(`${x}>${y}`, ms); rtt.set(`${y}>${x}`, ms)
      }
      for (const [k, ms] of rtt) { const [x, y] = k.split('>'); g.updateLink(x, y, { rttMs: ms, jitterMs: 0, loss: 0, up: true }) }
      const before = tablesOf(g)
      assert.ok(loopFree(before))
      // Change some link costs (or take links down), then roll the new tables out.
      const keys = [...rtt.keys()]
      for (const [k, ms] of changes) {
        const [x, y] = keys[k % keys.length].split('>')
        const up = ms % 7 !== 0
        g.updateLink(x, y, { rttMs: ms, jitterMs: 0, loss: 0, up }); g.updateLink(y, x, { rttMs: ms, jitterMs: 0, loss: 0, up })
      }
      const after = tablesOf(g)
      const plan = planRollout(before, after, (u, d) => g.nextHop(u, d))
      const live = clone(before)
      // Parts are applied one at a time, each picked at random among those whose wait is over
      // (across rounds, as the controller sends them), and never before what it waits for.
      let r = seed >>> 0
      const key = (id: string, round: number): string => `${id}/${round}`
      const applied = new Set<string>()
      const pending = plan.flatMap(({ round, parts, waitsFor }) => [...parts].map(([id, part]) => ({ id, round, part, after: [...(waitsFor.get(id) ?? [])].map((v) => key(v, round - 1)) })))
      for (const p of pending) for (const k of p.after) assert.ok(pending.some((q) => key(q.id, q.round) === k), `${key(p.id, p.round)} waits for a part of the plan`)
      while (pending.length > 0) {
        const free = pending.filter((p) => p.after.every((k) => applied.has(k)))
        assert.ok(free.length > 0, 'some part can always go out')
        const p = free[(r = (r * 1103515245 + 12345) >>> 0) % free.length]
        pending.splice(pending.indexOf(p), 1)
        let t = live.get(p.id)
        if (t === undefined) { t = new Map(); live.set(p.id, t) }
        applyPart(t, p.part)
        applied.add(key(p.id, p.round))
        if (!loopFree(live)) return false
      }
      const strip = (t: Map<string, DesiredEntry> | undefined): Array<[string, string, string | null]> =>
        [...(t ?? [])].map(([d, e]) => [d, e.nextHop, e.backup] as [string, string, string | null]).sort()
      for (const [id, t] of after) assert.deepEqual(strip(live.get(id)), strip(t), `relay ${id} ends on the new table`)
      return true
    }
  ), { numRuns: 150 })
})
