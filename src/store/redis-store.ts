import { Redis } from 'ioredis'
import { ioError } from '../errors.js'
import { fenceKey } from './keys.js'
import type { Store } from './types.js'

/**
 * Default for every Redis command's timeout (ms): half the controller's leadership lease
 * (LEASE_TTL_MS, 1.5 s), so a Redis that stops answering fails a renewal well before a standby
 * could take the lease, instead of leaving the leader waiting on it.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 750

// Take the lease if free, or renew it if we hold it; atomically. Returns the lease's fencing
// number, or 0 when another owner holds it. A fresh acquire raises the fence to
// max(fence + 1, Redis server time in µs): it rises on every acquire, and keeps rising even when
// Redis has lost its data (a restart without persistence), so relays never see it go back.
// (µs since 1970 stay below 2^53, exact in Lua's doubles and in JSON, until the year 2255.)
const ACQUIRE = `
local cur = redis.call('GET', KEYS[1])
if cur == false then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local fence = (tonumber(redis.call('GET', KEYS[2])) or 0) + 1
  if now > fence then fence = now end
  redis.call('SET', KEYS[2], string.format('%d', fence))
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return fence
elseif cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(redis.call('GET', KEYS[2])) or 0
end
return 0`

// Delete the lease only if we hold it.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

export interface RedisStoreOptions {
  prefix?: string
  /** Every command fails after this long without an answer (ms). */
  commandTimeoutMs?: number
  /** Overrides any password in the URL (`--redis-password-file`). */
  password?: string
}

/**
 * The URL with `password` in place of any it holds. (ioredis lets a URL's password, even an empty
 * one, win over the password option.) It stays in this process's memory, never in its arguments.
 */
function withPassword (url: string, password: string | undefined): string {
  if (password === undefined) return url
  const u = new URL(url)
  u.password = encodeURIComponent(password)
  return u.toString()
}

/** The Redis store. Keys are `${prefix}${name}` (src/store/keys.ts lists the names). */
export class RedisStore implements Store {
  readonly kind = 'redis'
  private readonly redis: Redis
  private readonly prefix: string

  constructor (url: string, opts: RedisStoreOptions = {}) {
    this.prefix = opts.prefix ?? 'relaymesh:'
    const timeout = opts.commandTimeoutMs ?? REDIS_COMMAND_TIMEOUT_MS
    // rediss:// turns TLS on (ioredis), with the system's CA store.
    this.redis = new Redis(withPassword(url, opts.password), {
      lazyConnect: true,
      maxRetriesPerRequest: 2,
      commandTimeout: timeout,
      // A Redis that accepts the TCP connection but never answers must not hang start-up either.
      connectTimeout: Math.max(timeout, 1_000),
      // Bounded reconnect backoff, so a restarted Redis is found again within a second.
      retryStrategy: (times) => Math.min(50 * times, 1000)
    })
    // ioredis emits 'error' on every failed reconnect; the failing command reports it instead.
    // The last one is kept: it says why a first connection failed (WRONGPASS, TLS, refused).
    this.redis.on('error', (err: Error) => { this.lastError = err })
  }

  private lastError: Error | undefined

  async connect (): Promise<void> {
    try {
      await this.redis.connect()
    } catch (err) {
      this.redis.disconnect()
      throw ioError('connect to Redis', this.lastError ?? err, true)
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

  async acquireFencedLease (name: string, owner: string, ttlMs: number): Promise<number> {
    const r = await this.redis.eval(ACQUIRE, 2, this.k(name), this.k(fenceKey(name)), owner, String(Math.ceil(ttlMs)))
    return typeof r === 'number' ? r : 0
  }

  async acquireLease (name: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.acquireFencedLease(name, owner, ttlMs)) > 0
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
