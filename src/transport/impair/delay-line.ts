import { performance } from 'node:perf_hooks'
import { ImpairmentModel, type ImpairParams } from './model.js'

/** How early the coarse timer wakes before a deadline; the rest is waited out with setImmediate. */
const SPIN_MS = 1.5

/** Bytes a delay line (or the lines sharing one budget) holds at most by default: 16 MiB. */
export const DEFAULT_MAX_QUEUE_BYTES = 16 * 1024 * 1024

/**
 * The bytes that may wait in the delay lines sharing it. A 60 s delay at line rate would
 * otherwise hold gigabytes; a packet that would take the total over `max` is dropped instead
 * (stats cause `queue`).
 */
export class ByteBudget {
  used = 0
  constructor (readonly max: number = DEFAULT_MAX_QUEUE_BYTES) {
    if (!(max > 0)) throw new TypeError(`byte budget ${max} is not positive`)
  }
}

export interface DelayLineOptions {
  /** Shared with other lines to cap their total; default: a budget of this line's own. */
  budget?: ByteBudget
  /** Called with each packet dropped because the budget was full. */
  onOverflow?: (buf: Buffer) => void
}

/**
 * One impaired direction: packets go in with push(), and come out through `deliver` when the model
 * says, or never. Node's timers fire about a millisecond late, which would bias a 10 ms delay by
 * 10%, so the last stretch before each deadline is polled with setImmediate.
 */
export class DelayLine {
  readonly model: ImpairmentModel
  private readonly deliver: (buf: Buffer) => void
  /** Optional observer of every decision, for measurement harnesses. */
  onDecision: ((buf: Buffer, dropped: boolean) => void) | undefined
  // Min-heap by (time, order) of packets in flight.
  private readonly heap: Array<{ at: number, n: number, buf: Buffer }> = []
  private order = 0
  private timer: NodeJS.Timeout | undefined
  private spinning = false
  private closed = false
  private readonly budget: ByteBudget
  private readonly onOverflow: ((buf: Buffer) => void) | undefined

  constructor (deliver: (buf: Buffer) => void, params: Partial<ImpairParams> = {}, seed = 1, opts: DelayLineOptions = {}) {
    this.deliver = deliver
    this.model = new ImpairmentModel(params, seed)
    this.budget = opts.budget ?? new ByteBudget()
    this.onOverflow = opts.onOverflow
  }

  get inFlight (): number { return this.heap.length }

  push (buf: Buffer): void {
    if (this.closed) return
    const now = performance.now()
    const at = this.model.decide(now)
    if (at < 0) { this.onDecision?.(buf, true); return }
    if (at <= now && this.heap.length === 0) {
      this.onDecision?.(buf, false)
      if (this.model.release()) this.deliver(buf)
      return
    }
    // Only a packet that has to wait takes room; one that leaves at once never counts.
    if (this.budget.used + buf.length > this.budget.max) {
      this.model.countDrop('queue')
      this.onDecision?.(buf, true)
      this.onOverflow?.(buf)
      return
    }
    this.onDecision?.(buf, false)
    this.budget.used += buf.length
    this.insert({ at, n: this.order++, buf })
    this.schedule()
  }

  /** Bytes waiting in this line. */
  get queuedBytes (): number {
    let n = 0
    for (const p of this.heap) n += p.buf.length
    return n
  }

  close (): void {
    this.closed = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.budget.used -= this.queuedBytes
    this.heap.length = 0
  }

  private schedule (): void {
    if (this.spinning || this.heap.length === 0 || this.closed) return
    const wait = this.heap[0].at - performance.now()
    if (this.timer !== undefined) clearTimeout(this.timer)
    if (wait <= SPIN_MS) { this.spin(); return }
    this.timer = setTimeout(() => { this.timer = undefined; this.spin() }, wait - SPIN_MS)
  }

  private spin (): void {
    if (this.closed) return
    const now = performance.now()
    while (this.heap.length > 0 && this.heap[0].at <= now) {
      const p = this.pop()
      if (this.model.release()) this.deliver(p.buf)
    }
    if (this.heap.length === 0) { this.spinning = false; return }
    if (this.heap[0].at - now <= SPIN_MS) {
      this.spinning = true
      setImmediate(() => { this.spin() })
      return
    }
    this.spinning = false
    this.schedule()
  }

  private insert (item: { at: number, n: number, buf: Buffer }): void {
    const h = this.heap
    h.push(item)
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (less(h[parent], h[i])) break
      ;[h[parent], h[i]] = [h[i], h[parent]]
      i = parent
    }
  }

  private pop (): { at: number, n: number, buf: Buffer } {
    const h = this.heap
    const top = h[0]
    this.budget.used -= top.buf.length
    const last = h.pop() as { at: number, n: number, buf: Buffer }
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1; const r = l + 1
        let m = i
        if (l < h.length && less(h[l], h[m])) m = l
        if (r < h.length && less(h[r], h[m])) m = r
        if (m === i) break
        ;[h[m], h[i]] = [h[i], h[m]]
        i = m
      }
    }
    return top
  }
}

function less (a: { at: number, n: number }, b: { at: number, n: number }): boolean {
  return a.at < b.at || (a.at === b.at && a.n < b.n)
}
