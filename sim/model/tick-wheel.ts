import { growInt32 } from './grow.js'

/** Ticks the wheel spans; a wake further out is parked at the far end and re-examined there. */
const SPOKES = 512

/**
 * A timing wheel of integer ids on a fixed tick: each id is due at one tick, and `take` hands over
 * the ids due at the current tick. It replaces scanning every probed link on every tick (the
 * real prober's loop) with visiting only those with something to do.
 *
 * Rescheduling to a later tick is ignored while an earlier one is pending: being visited early
 * is harmless to the caller, which re-examines and reschedules (the prober itself looks at every
 * link every tick). Stale entries left behind are skipped when their spoke comes round.
 */
export class TickWheel {
  private readonly tickMs: number
  private readonly spokes: number[][] = Array.from({ length: SPOKES }, () => [])
  /** Tick each id is due at, or -1. */
  private due = new Int32Array(1024).fill(-1)
  /** The last tick taken. */
  private current = -1

  constructor (tickMs: number) {
    this.tickMs = tickMs
  }

  /** Makes `id` due at the first tick at or after `atMs`, unless it is due sooner already. */
  schedule (id: number, atMs: number, nowMs: number): void {
    if (id >= this.due.length) this.due = growInt32(this.due, Math.max(id + 1, this.due.length * 2), -1)
    // The last tick taken, or the one at or before now: a tick at exactly now counts as past.
    const cur = Math.max(this.current, Math.floor(nowMs / this.tickMs + 1e-9))
    let tick = Math.ceil(atMs / this.tickMs - 1e-9)
    if (tick <= cur) tick = cur + 1
    if (tick >= cur + SPOKES) tick = cur + SPOKES - 1
    const d = this.due[id]
    if (d > cur && d <= tick) return
    this.due[id] = tick
    this.spokes[tick % SPOKES].push(id)
  }

  cancel (id: number): void {
    if (id < this.due.length) this.due[id] = -1
  }

  /** Calls `visit` for every id due at the tick of `nowMs`, in the order they were scheduled. */
  take (nowMs: number, visit: (id: number) => void): void {
    const tick = Math.round(nowMs / this.tickMs)
    this.current = tick
    const spoke = this.spokes[tick % SPOKES]
    if (spoke.length === 0) return
    // Visits reschedule into other spokes (never this one: the earliest is the next tick).
    this.spokes[tick % SPOKES] = []
    for (const id of spoke) {
      if (this.due[id] !== tick) continue
      this.due[id] = -1
      visit(id)
    }
  }
}
