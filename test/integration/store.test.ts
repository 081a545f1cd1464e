import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { createStore, Keys, type Store } from '../../src/store/index.js'
import { systemClock } from '../../src/clock.js'
import { redisUnavailable, startRedis, type RedisServer } from '../helpers/redis-server.js'

/** One suite, run against every Store implementation. */
function storeSuite (name: string, make: () => Promise<Store>): void {
  describe(name, () => {
    let s: Store
    before(async () => { s = await make() })
    after(async () => { await s.close() })

    test('strings can be set, read and deleted', async () => {
      assert.equal(await s.get('k1'), undefined)
      await s.set('k1', 'v')
      assert.equal(await s.get('k1'), 'v')
      await s.del('k1')
      assert.equal(await s.get('k1'), undefined)
    })

    test('hashes hold fields independently', async () => {
      await s.hset(Keys.relays, 'a', '{"id":"a"}')
      await s.hset(Keys.relays, 'b', '{"id":"b"}')
      await s.hdel(Keys.relays, 'a')
      assert.deepEqual(await s.hgetall(Keys.relays), { b: '{"id":"b"}' })
      assert.deepEqual(await s.hgetall('nothing-here'), {})
    })

    test('incr counts from zero', async () => {
      assert.equal(await s.incr(Keys.topologyVersion), 1)
      assert.equal(await s.incr(Keys.topologyVersion, 5), 6)
    })

    test('a lease has one holder until it expires or is released', async () => {
      const name = `lease-${randomUUID()}`
      // A lease far longer than the test, so a slow machine cannot let it lapse between the steps.
      assert.equal(await s.acquireLease(name, 'c1', 60_000), true)
      assert.equal(await s.acquireLease(name, 'c2', 60_000), false)
      assert.equal(await s.acquireLease(name, 'c1', 60_000), true, 'the holder renews')
      assert.equal(await s.leaseHolder(name), 'c1')
      await s.releaseLease(name, 'c2')
      assert.equal(await s.leaseHolder(name), 'c1', 'only the holder releases')
      await s.releaseLease(name, 'c1')
      assert.equal(await s.leaseHolder(name), undefined, 'the holder releases')
      assert.equal(await s.acquireLease(name, 'c2', 60_000), true, 'a released lease can be taken')
      await s.releaseLease(name, 'c2')
    })

    test('a lease nobody renews expires, and can then be taken', async () => {
      const name = `lease-${randomUUID()}`
      assert.equal(await s.acquireLease(name, 'c1', 200), true)
      // Wait for the expiry itself, however long a busy machine takes to get there.
      const deadline = Date.now() + 30_000
      while (await s.leaseHolder(name) !== undefined) {
        assert.ok(Date.now() < deadline, 'the lease expired within 30 s')
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      assert.equal(await s.acquireLease(name, 'c2', 60_000), true, 'an expired lease can be taken')
      assert.equal(await s.leaseHolder(name), 'c2')
      await s.releaseLease(name, 'c2')
    })
  })
}

storeSuite('memory store', async () => await createStore({ clock: systemClock }))

const missing = redisUnavailable()
if (missing === undefined) {
  let redis: RedisServer
  before(async () => { redis = await startRedis() })
  after(async () => { await redis.stop() })
  storeSuite('redis store (real redis-server)', async () => await createStore({ clock: systemClock, redisUrl: redis.url, prefix: `t${randomUUID()}:` }))
  test('a store reconnects after redis-server restarts on the same port', async () => {
    const s = await createStore({ clock: systemClock, redisUrl: redis.url, prefix: 'restart:' })
    await s.set('x', '1')
    await redis.stop()
    const again = await startRedis(redis.port)
    try {
      // No persistence: the value is gone, but the client works again without being recreated.
      // Retry until the client is back, within a budget generous for a loaded machine.
      const deadline = Date.now() + 30_000
      for (;;) {
        try { await s.set('x', '2'); break } catch (err) {
          if (Date.now() > deadline) throw err
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      }
      assert.equal(await s.get('x'), '2')
    } finally {
      await s.close()
      redis = again
    }
  })
} else {
  test(`redis store suite needs redis-server: ${missing}`, { skip: missing }, () => {})
}

