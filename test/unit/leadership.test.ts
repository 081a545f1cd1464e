import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Leadership } from '../../controller/leadership.js'
import { LEADER_LEASE } from '../../controller/constants.js'
import { silentLogger } from '../../src/logging.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import type { Store } from '../../src/store/types.js'
import { ManualClock } from '../helpers/manual-clock.js'

const TTL = 1_000
const RENEW = 100

function make (store: Store, clock: ManualClock, owner: string): { l: Leadership, events: string[] } {
  const l = new Leadership({ clock, store, logger: silentLogger() }, { owner, ttlMs: TTL, renewMs: RENEW })
  const events: string[] = []
  l.events.on('elected', () => { events.push(`elected:${l.fence}`) })
  l.events.on('deposed', () => { events.push('deposed') })
  return { l, events }
}

/** A memory store whose lease attempts go through `acquire`, which may hang or fail on cue. */
function storeWith (clock: ManualClock, acquire: (inner: MemoryStore, name: string, owner: string, ttl: number) => Promise<number>): { inner: MemoryStore, store: Store } {
  const inner = new MemoryStore(clock)
  const store: Store = Object.assign(Object.create(inner) as Store, {
    acquireFencedLease: async (name: string, owner: string, ttl: number) => await acquire(inner, name, owner, ttl)
  })
  return { inner, store }
}

/** Lets the promise chains of attempts started by timers settle. */
async function settle (): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** Advances the manual clock step by step, letting each attempt finish. */
async function advance (clock: ManualClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += RENEW) { clock.advance(Math.min(RENEW, ms - t)); await settle() }
}

test('leadership: the first controller is elected on start with a fencing number, a second stands by', async () => {
  const clock = new ManualClock()
  const store = new MemoryStore(clock)
  const a = make(store, clock, 'a')
  const b = make(store, clock, 'b')
  await a.l.start()
  await b.l.start()
  assert.equal(a.l.isLeader, true)
  assert.ok(a.l.fence > 0)
  assert.equal(b.l.isLeader, false)
  assert.equal(b.l.fence, 0, 'a standby has no fence')
  await advance(clock, 5 * TTL)
  assert.equal(a.l.isLeader, true, 'renewals keep the lease')
  assert.equal(b.l.isLeader, false)
  assert.deepEqual(a.events, [`elected:${a.l.fence}`])
  await a.l.stop()
  await b.l.stop()
})

test('leadership: a standby takes over after the leader stops, with a higher fencing number', async () => {
  const clock = new ManualClock()
  const store = new MemoryStore(clock)
  const a = make(store, clock, 'a')
  const b = make(store, clock, 'b')
  await a.l.start()
  await b.l.start()
  const first = a.l.fence
  await a.l.stop()
  assert.equal(await store.leaseHolder(LEADER_LEASE), undefined, 'stop releases the lease')
  await advance(clock, RENEW)
  assert.equal(b.l.isLeader, true)
  assert.ok(b.l.fence > first, `fence ${b.l.fence} > ${first}`)
  await b.l.stop()
})

test('leadership: a leader whose store stops answering steps down within half the lease', async () => {
  const clock = new ManualClock()
  let hang = false
  const { store } = storeWith(clock, async (inner, name, owner, ttl) => hang ? await new Promise<number>(() => {}) : await inner.acquireFencedLease(name, owner, ttl))
  const a = make(store, clock, 'a')
  await a.l.start()
  assert.equal(a.l.isLeader, true)
  hang = true
  await advance(clock, RENEW + TTL / 2)
  assert.equal(a.l.isLeader, false)
  assert.equal(a.l.fence, 0)
  assert.deepEqual(a.events.slice(1), ['deposed'])
  hang = false
  // The hung attempt never settles; a fresh one can still run once the old one is given up.
  await a.l.stop()
})

test('leadership: a leader whose lease lapsed and was taken afresh is re-elected under the new fence', async () => {
  const clock = new ManualClock()
  let fail = false
  const { inner, store } = storeWith(clock, async (inner, name, owner, ttl) => {
    if (fail) throw new Error('store down')
    return await inner.acquireFencedLease(name, owner, ttl)
  })
  const a = make(store, clock, 'a')
  await a.l.start()
  const first = a.l.fence
  // Another controller takes the lapsed lease and lets it go again, all while our attempts fail.
  fail = true
  await advance(clock, TTL + RENEW)
  assert.equal(a.l.isLeader, false, 'a failed renewal steps down')
  assert.ok(await inner.acquireLease(LEADER_LEASE, 'b', TTL))
  await inner.releaseLease(LEADER_LEASE, 'b')
  fail = false
  await advance(clock, RENEW)
  assert.equal(a.l.isLeader, true)
  assert.ok(a.l.fence > first + 1, 'b\'s acquire raised the fence too')
  assert.deepEqual(a.events, [`elected:${first}`, 'deposed', `elected:${a.l.fence}`])
  await a.l.stop()
})

test('leadership: a renewal that returns a new fence while leading counts as a new election', async () => {
  const clock = new ManualClock()
  const inner = new MemoryStore(clock)
  let bump = 0
  const store: Store = Object.assign(Object.create(inner) as Store, {
    acquireFencedLease: async (name: string, owner: string, ttl: number) => (await inner.acquireFencedLease(name, owner, ttl)) + bump
  })
  const a = make(store, clock, 'a')
  await a.l.start()
  const first = a.l.fence
  bump = 7
  await advance(clock, RENEW)
  assert.equal(a.l.isLeader, true)
  assert.equal(a.l.fence, first + 7)
  assert.deepEqual(a.events, [`elected:${first}`, 'deposed', `elected:${first + 7}`])
  await a.l.stop()
})

test('memory store: the fencing number rises on every acquire, not on renewals, and starts above wall-clock µs', async () => {
  const clock = new ManualClock()
  const store = new MemoryStore(clock)
  const f1 = await store.acquireFencedLease('l', 'a', 100)
  assert.ok(f1 >= clock.nowMs() * 1000)
  assert.equal(await store.acquireFencedLease('l', 'a', 100), f1, 'a renewal keeps the fence')
  assert.equal(await store.acquireFencedLease('l', 'b', 100), 0, 'a lease held by another gives 0')
  clock.advance(150)
  const f2 = await store.acquireFencedLease('l', 'b', 100)
  assert.ok(f2 > f1)
  await store.releaseLease('l', 'b')
  const f3 = await store.acquireFencedLease('l', 'a', 100)
  assert.ok(f3 > f2)
  await store.close()
})
