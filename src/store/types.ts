/**
 * Where the controller (and room roots) keep state that must outlive a process and be shared
 * between replicas. Values are strings; callers serialise. Two implementations pass one suite:
 * the in-memory store (the default) and Redis (`--redis URL`).
 */
export interface Store {
  readonly kind: 'memory' | 'redis'
  get: (key: string) => Promise<string | undefined>
  set: (key: string, value: string) => Promise<void>
  del: (key: string) => Promise<void>
  /** All fields of a hash; {} when absent. */
  hgetall: (key: string) => Promise<Record<string, string>>
  hset: (key: string, field: string, value: string) => Promise<void>
  hdel: (key: string, field: string) => Promise<void>
  /** Atomically adds `by` to an integer key (absent = 0) and returns the new value. */
  incr: (key: string, by?: number) => Promise<number>
  /**
   * Takes the lease `name` for `owner` for `ttlMs`, or renews it if `owner` holds it. Returns
   * true when `owner` holds the lease afterwards. Only one owner holds a lease at a time.
   */
  acquireLease: (name: string, owner: string, ttlMs: number) => Promise<boolean>
  /**
   * acquireLease, returning the lease's fencing number while `owner` holds it, 0 when it does not.
   * The number rises on every acquire (not on a renewal), and never goes back, so whoever receives
   * orders from lease holders can tell an older holder's from a newer one's (docs/routing.md).
   */
  acquireFencedLease: (name: string, owner: string, ttlMs: number) => Promise<number>
  /** Gives the lease up if `owner` holds it. */
  releaseLease: (name: string, owner: string) => Promise<void>
  leaseHolder: (name: string) => Promise<string | undefined>
  close: () => Promise<void>
}
