import { test } from 'node:test'
import assert from 'node:assert/strict'
import { StoreWriter } from '../../controller/store-writer.js'
import { silentLogger } from '../../src/logging.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import type { Store } from '../../src/store/types.js'
import { ManualClock } from '../helpers/manual-clock.js'

/** A store whose hset calls wait until released, as a slow or stopped Redis would. */
function stalledStore (): { store: Store, calls: Array<{ field: string, value: string, answer: (err?: Error) => void }> } {
  const clock = new ManualClock()
  const inner = new MemoryStore(clock)
  const calls: Array<{ field: string, value: string, answer: (err?: Error) => void }> = []
  const store: Store = Object.assign(Object.create(inner) as Store, {
    hset: async (key: string, field: string, value: string) => {
      await new Promise<void>((resolve, reject) => { calls.push({ field, value, answer: (err) => { if (err === undefined) resolve(); else reject(err) } }) })
      await inner.hset(key, field, value)
    }
  })
  return { store, calls }
}

async function settle (): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
}

test('store writer: with the store stalled, writes coalesce per field and the queue stops at its bound', async () => {
  const { store, calls } = stalledStore()
  const w = new StoreWriter({ store, clock: new ManualClock(), logger: silentLogger() }, { maxPending: 100, maxInFlight: 4 })
  // 1,000 relays report 10 times each while nothing answers.
  for (let round = 0; round < 10; round++) for (let r = 0; r < 1_000; r++) w.hset('links', `r${r}`, `report ${round}`)
  assert.equal(calls.length, 4, 'only maxInFlight are sent')
  assert.equal(w.queued, 104)
  assert.ok(w.counters.coalesced > 0)
  assert.equal(w.counters.droppedFull, 10 * 1_000 - 4 - 100 - w.counters.coalesced)
  // The store answers again: what waited goes out, each field with its latest value.
  for (const c of calls.splice(0)) c.answer()
  for (let i = 0; i < 100 && w.queued > 0; i++) {
    await settle()
    for (const c of calls.splice(0)) c.answer()
  }
  assert.equal(w.queued, 0)
  assert.equal(w.counters.written, 104)
  assert.deepEqual(await store.hgetall('links').then((h) => [h.r0, h.r99]), ['report 0', 'report 9'])
})

test('store writer: failed writes are counted, and later writes still go out', async () => {
  const { store, calls } = stalledStore()
  const counted: string[] = []
  const w = new StoreWriter({ store, clock: new ManualClock(), logger: silentLogger() }, { onCount: (what) => { counted.push(what) } })
  w.hset('relays', 'a', '1')
  calls.splice(0)[0]?.answer(new Error('Command timed out'))
  await settle()
  w.hset('relays', 'a', '2')
  calls.splice(0)[0]?.answer()
  await settle()
  assert.deepEqual(w.counters, { coalesced: 0, droppedFull: 0, failed: 1, written: 1 })
  assert.deepEqual(counted, ['failed', 'written'])
  assert.deepEqual(await store.hgetall('relays'), { a: '2' })
})
