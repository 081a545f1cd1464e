import type { Clock, Timer } from '../../src/clock.js'

/** A clock that moves only when told to; timers fire in order as it advances. */
export class ManualClock implements Clock {
  now = 0
  private timers: Array<{ at: number, every: number, fn: () => void, id: number }> = []
  private nextId = 1

  nowMs = (): number => 1_700_000_000_000 + this.now
  monoMs = (): number => this.now
  setTimeout = (fn: () => void, ms: number): Timer => this.add(fn, ms, 0)
  setInterval = (fn: () => void, ms: number): Timer => this.add(fn, ms, Math.max(ms, 0.001))
  clearTimer = (t: Timer): void => {
    const id = (t as { id: number }).id
    this.timers = this.timers.filter((x) => x.id !== id)
  }

  private add (fn: () => void, ms: number, every: number): Timer {
    const t = { at: this.now + ms, every, fn, id: this.nextId++ }
    this.timers.push(t)
    return t as unknown as Timer
  }

  /** Advances time by `ms`, firing due timers in time order. */
  advance (ms: number): void {
    const end = this.now + ms
    for (;;) {
      let next: (typeof this.timers)[number] | undefined
      for (const t of this.timers) if (t.at <= end && (next === undefined || t.at < next.at)) next = t
      if (next === undefined) break
      this.now = next.at
      if (next.every > 0) next.at += next.every
      else this.timers = this.timers.filter((x) => x !== next)
      next.fn()
    }
    this.now = end
  }
}
