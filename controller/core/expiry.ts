import { RELAY_EXPIRY_SWEEP_MS } from '../constants.js'
import type { RelayRecord, Registry } from './registry.js'

/** Bounds the set of expired ids kept for withdrawing routes; past it, the oldest knowledge goes. */
const MAX_EXPIRED_IDS = 100_000

/**
 * Relay expiry: relays disconnected for `expiryMs` are forgotten. Routes toward a relay the graph
 * does not hold are kept (keepUnknown, route-diff.ts), so expired ones count as known until they
 * register again: routes to them are withdrawn.
 */
export class Expiry {
  readonly expiryMs: number
  private readonly expired = new Set<string>()

  constructor (expiryMs: number) {
    if (!(expiryMs > 0)) throw new TypeError(`relayExpiryMs must be positive, not ${expiryMs}`)
    this.expiryMs = expiryMs
  }

  /** How often disconnected relays are checked against the expiry (ms). */
  get sweepMs (): number { return Math.min(RELAY_EXPIRY_SWEEP_MS, this.expiryMs / 2) }

  /** Takes out of `registry` the relays offline past the expiry at `now`, and returns them. */
  sweep (registry: Registry, now: number): RelayRecord[] {
    const gone = registry.expire(now, this.expiryMs)
    this.forgotten(gone.map((s) => s.id))
    return gone
  }

  /** These relays were forgotten (expired, or revoked): routes toward them are withdrawn. */
  forgotten (ids: string[]): void {
    if (this.expired.size + ids.length > MAX_EXPIRED_IDS) this.expired.clear()
    for (const id of ids) this.expired.add(id)
  }

  /** Whether routes toward `id` are withdrawn although the graph does not hold it. */
  withdrawn (id: string): boolean { return this.expired.has(id) }

  /** `id` registered again. */
  back (id: string): void { this.expired.delete(id) }
}
