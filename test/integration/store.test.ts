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
      assert.equal(await s.acquireLease(name, 'c1', 300), true)
      assert.equal(await s.acquireLease(name, 'c2', 300), false)
      assert.equal(await s.acquireLease(name, 'c1', 300), true, 'the holder renews')
      assert.equal(await s.leaseHolder(name), 'c1')
      await s.releaseLease(name, 'c2')
      assert.equal(await s.leaseHolder(name), 'c1', 'only the holder releases')
      await new Promise((resolve) => setTimeout(resolve, 400))
      assert.equal(await s.leaseHolder(name), undefined)
      assert.equal(await s.acquireLease(name, 'c2', 300), true, 'an expired lease can be taken')
      await s.releaseLease(name, 'c2')
      assert.equal(await s.leaseHolder(name), undefined)
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
      let ok = false
      for (let i = 0; i < 40 && !ok; i++) {
        try { await s.set('x', '2'); ok = true } catch { await new Promise((resolve) => setTimeout(resolve, 100)) }
      }
      assert.ok(ok)
      assert.equal(await s.get('x'), '2')
    } finally {
      await s.close()
      redis = again
    }
  })
} else {
  test(`redis store suite needs redis-server: ${missing}`, { skip: missing }, () => {})
}

