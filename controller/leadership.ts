import type { Clock, Timer } from '../src/clock.js'
import { TypedEmitter } from '../src/events.js'
import type { Logger } from '../src/logging.js'
import type { Store } from '../src/store/types.js'
import { LEADER_LEASE, LEASE_RENEW_MS, LEASE_TTL_MS } from './constants.js'

export type LeadershipEvents = {
  elected: []
  deposed: []
}

/**
 * Holds or waits for the leadership lease in the store. The leader renews every `renewMs`; a
 * standby tries to take the lease at the same pace, so it takes over within ttl + renew of the
 * leader's death. With the in-memory store there is one controller and it always leads.
 *
 * A leader that cannot renew (the store is unreachable, or another controller holds the lease)
 * steps down at once: two leaders pushing tables would fight.
 *
 * Each acquire gets a fencing number from the store, higher than any before it; the leader puts it
 * in every message to relays, and relays ignore a lower one than they have seen, so a deposed
 * leader that has not noticed yet (paused, partitioned) cannot have its tables applied.
 */
export class Leadership {
  readonly events: TypedEmitter<LeadershipEvents>
  private readonly clock: Clock
  private readonly store: Store
  private readonly log: Logger
  private readonly owner: string
  private readonly ttlMs: number
  private readonly renewMs: number
  private timer: Timer | undefined
  private busy: Promise<void> | undefined
  private leader = false
  private fenceNow = 0
  private stopped = false

  constructor (components: { clock: Clock, store: Store, logger: Logger }, init: { owner: string, ttlMs?: number, renewMs?: number }) {
    this.clock = components.clock
    this.store = components.store
    this.log = components.logger.child({ component: 'leadership' })
    this.owner = init.owner
    this.ttlMs = init.ttlMs ?? LEASE_TTL_MS
    this.renewMs = init.renewMs ?? LEASE_RENEW_MS
    this.events = new TypedEmitter<LeadershipEvents>(this.log)
  }

  get isLeader (): boolean { return this.leader }
  /** The fencing number of the lease this controller holds; 0 while it does not lead. */
  get fence (): number { return this.leader ? this.fenceNow : 0 }

  /** Makes the first attempt before resolving, so the caller knows its role from the start. */
  async start (): Promise<void> {
    if (this.timer !== undefined) return
    await this.attempt()
    this.timer = this.clock.setInterval(() => { void this.attempt() }, this.renewMs)
  }

  /** Stops renewing and gives the lease up, so a standby need not wait out the TTL. */
  async stop (): Promise<void> {
    this.stopped = true
    if (this.timer !== undefined) this.clock.clearTimer(this.timer)
    this.timer = undefined
    // An attempt in flight could take the lease back after we release it: let it finish first.
    await this.busy
    this.leader = false
    // Released whether or not we led: an attempt in flight at stop() may have just taken it.
    try { await this.store.releaseLease(LEADER_LEASE, this.owner) } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not release the leadership lease')
    }
  }

  private async attempt (): Promise<void> {
    if (this.busy !== undefined || this.stopped) return
    let done!: () => void
    this.busy = new Promise((resolve) => { done = resolve })
    let fence = 0
    let timer: Timer | undefined
    try {
      // A store that hangs (a partition) must not keep us leading past the lease: a standby takes
      // it after the TTL, so give up at half of it and act as if we lost it.
      const deadline = new Promise<never>((_resolve, reject) => {
        timer = this.clock.setTimeout(() => { reject(new Error(`no answer from the store within ${this.ttlMs / 2} ms`)) }, this.ttlMs / 2)
      })
      fence = await Promise.race([this.store.acquireFencedLease(LEADER_LEASE, this.owner, this.ttlMs), deadline])
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'leadership lease check failed')
    } finally {
      if (timer !== undefined) this.clock.clearTimer(timer)
      this.busy = undefined
      done()
    }
    if (this.stopped) return
    const holds = fence > 0
    if (holds && this.leader && fence !== this.fenceNow) {
      // Our lease lapsed and we took it afresh: another controller may have led in between, so
      // act as a new leader (reload, re-register every relay) under the new fence.
      this.leader = false
      this.log.warn({ owner: this.owner, fence: this.fenceNow, newFence: fence }, 'leadership lease lapsed and was taken again')
      this.events.emit('deposed')
    }
    if (holds && !this.leader) {
      this.leader = true
      this.fenceNow = fence
      this.log.info({ owner: this.owner, fence }, 'elected leader')
      this.events.emit('elected')
    } else if (!holds && this.leader) {
      this.leader = false
      this.log.warn({ owner: this.owner }, 'lost leadership')
      this.events.emit('deposed')
    }
  }
}
