import { Redis } from 'ioredis'
import { ioError } from '../errors.js'
import type { Store } from './types.js'

// Take the lease if free, or renew it if we hold it; atomically.
const ACQUIRE = `
local cur = redis.call('GET', KEYS[1])
if cur == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
elseif cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`

// Delete the lease only if we hold it.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

/** The Redis store. Keys are `${prefix}${name}` (src/store/keys.ts lists the names). */
export class RedisStore implements Store {
  readonly kind = 'redis'
  private readonly redis: Redis
  private readonly prefix: string

  constructor (url: string, prefix = 'relaymesh:') {
    this.prefix = prefix
    this.redis = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 2,
      // Bounded reconnect backoff, so a restarted Redis is found again within a second.
      retryStrategy: (times) => Math.min(50 * times, 1000)
    })
    // ioredis emits 'error' on every failed reconnect; the failing command reports it instead.
    this.redis.on('error', () => {})
  }

  async connect (): Promise<void> {
    try {
      await this.redis.connect()
    } catch (err) {
      throw ioError('connect to Redis', err, true)
    }
  }

  private k (key: string): string { return this.prefix + key }

  async get (key: string): Promise<string | undefined> { return (await this.redis.get(this.k(key))) ?? undefined }
  async set (key: string, value: string): Promise<void> { await this.redis.set(this.k(key), value) }
  async del (key: string): Promise<void> { await this.redis.del(this.k(key)) }
  async hgetall (key: string): Promise<Record<string, string>> { return await this.redis.hgetall(this.k(key)) }
  async hset (key: string, field: string, value: string): Promise<void> { await this.redis.hset(this.k(key), field, value) }
  async hdel (key: string, field: string): Promise<void> { await this.redis.hdel(this.k(key), field) }
  async incr (key: string, by = 1): Promise<number> { return await this.redis.incrby(this.k(key), by) }

  async acquireLease (name: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.eval(ACQUIRE, 1, this.k(name), owner, String(Math.ceil(ttlMs)))) === 1
  }

  async releaseLease (name: string, owner: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.k(name), owner)
  }

  async leaseHolder (name: string): Promise<string | undefined> {
    return (await this.redis.get(this.k(name))) ?? undefined
  }

  async close (): Promise<void> {
    this.redis.disconnect()
  }
}
