import type { Clock } from '../clock.js'
import { InvalidStateError } from '../errors.js'
import type { Store } from './types.js'

/** The embedded default store: a process-local map, with leases timed by the injected clock. */
export class MemoryStore implements Store {
  readonly kind = 'memory'
  private readonly clock: Clock
  private readonly strings = new Map<string, string>()
  private readonly hashes = new Map<string, Map<string, string>>()
  private readonly leases = new Map<string, { owner: string, until: number }>()
  private readonly fences = new Map<string, number>()
  private closed = false

  constructor (clock: Clock) {
    this.clock = clock
  }

  private check (): void {
    if (this.closed) throw new InvalidStateError('memory store')
  }

  async get (key: string): Promise<string | undefined> { this.check(); return this.strings.get(key) }
  async set (key: string, value: string): Promise<void> { this.check(); this.strings.set(key, value) }
  async del (key: string): Promise<void> { this.check(); this.strings.delete(key); this.hashes.delete(key) }

  async hgetall (key: string): Promise<Record<string, string>> {
    this.check()
    return Object.fromEntries(this.hashes.get(key) ?? [])
  }

  async hset (key: string, field: string, value: string): Promise<void> {
    this.check()
    let h = this.hashes.get(key)
    if (h === undefined) { h = new Map(); this.hashes.set(key, h) }
    h.set(field, value)
  }

  async hdel (key: string, field: string): Promise<void> { this.check(); this.hashes.get(key)?.delete(field) }

  async incr (key: string, by = 1): Promise<number> {
    this.check()
    const v = Number(this.strings.get(key) ?? '0') + by
    this.strings.set(key, String(v))
    return v
  }

  async acquireLease (name: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.acquireFencedLease(name, owner, ttlMs)) > 0
  }

  async acquireFencedLease (name: string, owner: string, ttlMs: number): Promise<number> {
    this.check()
    const now = this.clock.monoMs()
    const l = this.leases.get(name)
    const held = l !== undefined && l.until > now
    if (held && l.owner !== owner) return 0
    let fence = this.fences.get(name) ?? 0
    // As in Redis: wall-clock µs as a floor, so a restarted controller's fence is above its last one.
    if (!held) fence = Math.max(fence + 1, Math.floor(this.clock.nowMs() * 1000))
    this.fences.set(name, fence)
    this.leases.set(name, { owner, until: now + ttlMs })
    return fence
  }

  async releaseLease (name: string, owner: string): Promise<void> {
    this.check()
    if (this.leases.get(name)?.owner === owner) this.leases.delete(name)
  }

  async leaseHolder (name: string): Promise<string | undefined> {
    this.check()
    const l = this.leases.get(name)
    return l !== undefined && l.until > this.clock.monoMs() ? l.owner : undefined
  }

  async close (): Promise<void> { this.closed = true }
}
