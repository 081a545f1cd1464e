import type { Clock, Timer } from '../../src/clock.js'
import { EventHeap } from './event-heap.js'
import { growFloat64 } from './grow.js'

/** Handles one kind of typed event; the five numbers are whatever its poster put in. */
export type EventHandler = (a: number, b: number, c: number, d: number, x: number) => void

/** What nowMs() reads at virtual time 0: a fixed instant, so runs do not depend on the real date. */
const EPOCH_MS = Date.UTC(2025, 0, 1)

const TIMER_KIND = 0
/** Pool entry: kind, then the five payload numbers. */
const STRIDE = 6

interface TimerEntry { fn: () => void, every: number }

/**
 * A discrete-event scheduler on a virtual clock, and the Clock interface (src/clock.ts) over it, so
 * components written against Clock run unchanged inside the simulation.
 *
 * Two ways in:
 *  - Clock timers (setTimeout, setInterval): a closure per timer, for the control plane, where
 *    events are few.
 *  - Typed events (define + post): a handler per kind, registered once, and five numbers per
 *    event kept in pooled typed arrays. The probe and packet paths post tens of millions of
 *    events in a large run; they allocate nothing per event this way.
 *
 * Both share one queue ordered by (time, posting order), so a run is deterministic.
 */
export class VirtualClock implements Clock {
  /** Virtual milliseconds since the start of the run. */
  now = 0
  /** Events run so far (timers and typed events). */
  processed = 0
  private readonly heap = new EventHeap(4096)
  private readonly handlers: EventHandler[] = []
  private readonly timers = new Map<number, TimerEntry>()
  private nextTimerId = 1
  private seq = 0
  // The event pool: slot s holds kind and payload at pool[s * STRIDE …], one cache line per event.
  // `free` is a stack of unused slots.
  private pool = new Float64Array(4096 * STRIDE)
  private free: number[] = []
  private used = 0

  constructor () {
    this.handlers[TIMER_KIND] = (id) => { this.fireTimer(id) }
  }

  nowMs = (): number => EPOCH_MS + this.now
  monoMs = (): number => this.now
  setTimeout = (fn: () => void, ms: number): Timer => this.addTimer(fn, ms, 0)
  setInterval = (fn: () => void, ms: number): Timer => this.addTimer(fn, ms, Math.max(ms, 1e-3))
  clearTimer = (t: Timer): void => { this.timers.delete((t as { id: number }).id) }

  /** Registers a handler for a new kind of typed event; returns the kind to post with. */
  define (handler: EventHandler): number {
    this.handlers.push(handler)
    return this.handlers.length - 1
  }

  /** Schedules a typed event at virtual time `at` (clamped to now: the past is gone). */
  post (at: number, kind: number, a = 0, b = 0, c = 0, d = 0, x = 0): void {
    const s = this.free.length > 0 ? this.free.pop() as number : this.take()
    const p = this.pool
    const o = s * STRIDE
    p[o] = kind; p[o + 1] = a; p[o + 2] = b; p[o + 3] = c; p[o + 4] = d; p[o + 5] = x
    this.heap.push(at < this.now ? this.now : at, this.seq++, s)
  }

  /** Runs every event due at or before `end`, in order, then leaves the clock at `end`. */
  runUntil (end: number): void {
    const heap = this.heap
    while (heap.size > 0 && heap.peekTime() <= end) {
      const t = heap.peekTime()
      const s = heap.pop()
      this.free.push(s)
      this.now = t
      this.processed++
      const p = this.pool
      const o = s * STRIDE
      this.handlers[p[o]](p[o + 1], p[o + 2], p[o + 3], p[o + 4], p[o + 5])
    }
    if (end > this.now) this.now = end
  }

  private addTimer (fn: () => void, ms: number, every: number): Timer {
    const id = this.nextTimerId++
    this.timers.set(id, { fn, every })
    this.post(this.now + Math.max(0, ms), TIMER_KIND, id)
    return { id, unref () { return this } } as Timer
  }

  private fireTimer (id: number): void {
    const t = this.timers.get(id)
    if (t === undefined) return // cleared while queued
    // Re-arm before the call, so the callback may clear its own interval.
    if (t.every > 0) this.post(this.now + t.every, TIMER_KIND, id)
    else this.timers.delete(id)
    t.fn()
  }

  /** A new pool slot, growing the pool when it is full. */
  private take (): number {
    if ((this.used + 1) * STRIDE > this.pool.length) this.pool = growFloat64(this.pool, this.pool.length * 2)
    return this.used++
  }
}
