import { performance } from 'node:perf_hooks'

/** Time as the core sees it. Inject a manual clock in tests to control time exactly. */
export interface Clock {
  /** Wall-clock milliseconds since the unix epoch. */
  nowMs: () => number
  /** Monotonic milliseconds (fractional). */
  monoMs: () => number
  setTimeout: (fn: () => void, ms: number) => Timer
  setInterval: (fn: () => void, ms: number) => Timer
  clearTimer: (t: Timer) => void
}

export interface Timer { unref?: () => unknown }

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monoMs: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearTimer: (t) => { clearTimeout(t as NodeJS.Timeout) }
}

/** Monotonic microseconds from a clock, as the wire timestamp wants them. */
export function microsOf (clock: Clock): () => number {
  return () => Math.floor(clock.monoMs() * 1000)
}
