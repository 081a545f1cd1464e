import type { Clock } from '../clock.js'
import { MemoryStore } from './memory-store.js'
import { RedisStore } from './redis-store.js'
import type { Store } from './types.js'

export type { Store }
export { Keys } from './keys.js'
export { REDIS_COMMAND_TIMEOUT_MS } from './redis-store.js'

/** The in-memory store by default; Redis when a URL is given. */
export async function createStore (opts: { clock: Clock, redisUrl?: string, prefix?: string, commandTimeoutMs?: number, password?: string }): Promise<Store> {
  if (opts.redisUrl === undefined) return new MemoryStore(opts.clock)
  const s = new RedisStore(opts.redisUrl, { prefix: opts.prefix, commandTimeoutMs: opts.commandTimeoutMs, password: opts.password })
  await s.connect()
  return s
}
