import type { Clock } from '../src/clock.js'
import type { Logger } from '../src/logging.js'
import type { Store } from '../src/store/types.js'
import { STORE_MAX_IN_FLIGHT, STORE_MAX_PENDING_WRITES } from './constants.js'

export interface StoreWriterCounters {
  /** A pending write replaced by a newer value for the same field before it was sent. */
  coalesced: number
  /** Dropped because STORE_MAX_PENDING_WRITES were waiting already. */
  droppedFull: number
  /** Sent, and failed (Redis down or too slow: the command timed out). */
  failed: number
  written: number
}

/**
 * The controller's writes to the store (relay records, link reports, table versions), sent in the
 * background with bounded memory. Writes are hash sets, and only the latest value of a field
 * matters, so a write waiting to be sent is replaced by a newer one for the same field; at most
 * `maxInFlight` are outstanding, and at most `maxPending` wait. With Redis slow or down, the queue
 * stops growing there: further writes are dropped and counted, and the next report of each relay
 * writes its field again once Redis answers.
 */
export class StoreWriter {
  readonly counters: StoreWriterCounters = { coalesced: 0, droppedFull: 0, failed: 0, written: 0 }
  private readonly store: Store
  private readonly clock: Clock
  private readonly log: Logger
  private readonly maxPending: number
  private readonly maxInFlight: number
  /** `${key}\n${field}` → the write; Map order is arrival order of the field's first write. */
  private readonly pending = new Map<string, { key: string, field: string, value: string }>()
  private inFlight = 0
  private lastWarnMs = -Infinity
  private readonly onCount: (what: keyof StoreWriterCounters) => void

  constructor (
    components: { store: Store, clock: Clock, logger: Logger },
    init: { maxPending?: number, maxInFlight?: number, onCount?: (what: keyof StoreWriterCounters) => void } = {}
  ) {
    this.onCount = init.onCount ?? (() => {})
    this.store = components.store
    this.clock = components.clock
    this.log = components.logger.child({ component: 'store-writer' })
    this.maxPending = init.maxPending ?? STORE_MAX_PENDING_WRITES
    this.maxInFlight = init.maxInFlight ?? STORE_MAX_IN_FLIGHT
  }

  /** Writes waiting to be sent, and sent without an answer yet. */
  get queued (): number { return this.pending.size + this.inFlight }

  hset (key: string, field: string, value: string): void {
    const id = `${key}\n${field}`
    const w = this.pending.get(id)
    if (w !== undefined) {
      w.value = value
      this.count('coalesced')
    } else if (this.pending.size >= this.maxPending) {
      this.count('droppedFull')
      this.warn('store write queue full: dropping writes until the store catches up', { key })
      return
    } else {
      this.pending.set(id, { key, field, value })
    }
    this.pump()
  }

  private pump (): void {
    while (this.inFlight < this.maxInFlight && this.pending.size > 0) {
      const [id, w] = this.pending.entries().next().value as [string, { key: string, field: string, value: string }]
      this.pending.delete(id)
      this.inFlight++
      this.store.hset(w.key, w.field, w.value).then(() => {
        this.count('written')
      }, (err: Error) => {
        this.count('failed')
        this.warn('could not persist to the store', { key: w.key, err: err.message })
      }).finally(() => {
        this.inFlight--
        this.pump()
      })
    }
  }

  private count (what: keyof StoreWriterCounters): void {
    this.counters[what]++
    this.onCount(what)
  }

  /** One warning a second at most: a Redis outage fails thousands of writes. */
  private warn (msg: string, fields: Record<string, unknown>): void {
    const now = this.clock.monoMs()
    if (now - this.lastWarnMs < 1_000) return
    this.lastWarnMs = now
    this.log.warn({ ...fields, ...this.counters, pending: this.pending.size }, msg)
  }
}
