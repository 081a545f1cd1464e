import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Keys } from '../../src/store/keys.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { loadStoredState } from '../../src/store/records.js'
import { ManualClock } from '../helpers/manual-clock.js'

test('loadStoredState returns valid records and names every corrupt one it skips', async () => {
  const store = new MemoryStore(new ManualClock())
  const link = { peer: 'b', up: true, rtt_ms: 10, jitter_ms: 1, loss: 0, loss_short: 0, samples: 10 }
  await store.hset(Keys.relays, 'a', JSON.stringify({ id: 'a', address: '127.0.0.1:7001', caps: ['forward'], registeredAt: 5 }))
  await store.hset(Keys.relays, 'b', JSON.stringify({ id: 'b', address: '[::1]:7002' }))
  await store.hset(Keys.relays, 'c', '{"id":"c"')
  await store.hset(Keys.relays, 'd', JSON.stringify({ id: 'd', address: 'localhost:7004' }))
  await store.hset(Keys.relays, 'e', JSON.stringify({ id: 'a', address: '127.0.0.1:7005' }))
  await store.hset(Keys.relays, 'f', JSON.stringify({ id: 'f', address: '127.0.0.1:7006', caps: 'all' }))
  await store.hset(Keys.relays, '', JSON.stringify({ id: '', address: '127.0.0.1:7007' }))
  await store.hset(Keys.links, 'a', JSON.stringify([link]))
  await store.hset(Keys.links, 'b', JSON.stringify([{ ...link, peer: 'a', rtt_ms: -1 }]))
  await store.hset(Keys.links, 'c', JSON.stringify({ peer: 'a' }))
  await store.set(Keys.topologyVersion, '1e9')
  const s = await loadStoredState(store)
  assert.deepEqual([...s.relays.keys()].sort(), ['a', 'b'])
  assert.deepEqual(s.relays.get('a'), { id: 'a', address: '127.0.0.1:7001', caps: ['forward'], registeredAt: 5 })
  assert.deepEqual([...s.links], [['a', [link]]])
  assert.equal(s.version, 0)
  assert.deepEqual(s.skipped.map((x) => `${x.key}/${x.field}`).sort(),
    ['links/b', 'links/c', 'relays/', 'relays/c', 'relays/d', 'relays/e', 'relays/f', 'topology:version/'])
  for (const x of s.skipped) assert.ok(x.reason.length > 0)
})

test('loadStoredState reads an empty store as empty, and a valid version as a number', async () => {
  const store = new MemoryStore(new ManualClock())
  assert.deepEqual(await loadStoredState(store), { relays: new Map(), links: new Map(), version: 0, skipped: [] })
  await store.set(Keys.topologyVersion, '42')
  assert.equal((await loadStoredState(store)).version, 42)
})
