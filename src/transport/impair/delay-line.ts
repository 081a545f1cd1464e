import { performance } from 'node:perf_hooks'
import { ImpairmentModel, type ImpairParams } from './model.js'

/** How early the coarse timer wakes before a deadline; the rest is waited out with setImmediate. */
const SPIN_MS = 1.5

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

  constructor (deliver: (buf: Buffer) => void, params: Partial<ImpairParams> = {}, seed = 1) {
    this.deliver = deliver
    this.model = new ImpairmentModel(params, seed)
  }

  get inFlight (): number { return this.heap.length }

  push (buf: Buffer): void {
    if (this.closed) return
    const now = performance.now()
    const at = this.model.decide(now)
    this.onDecision?.(buf, at < 0)
    if (at < 0) return
    if (at <= now && this.heap.length === 0) {
      if (this.model.release()) this.deliver(buf)
      return
    }
    this.insert({ at, n: this.order++, buf })
    this.schedule()
  }

  close (): void {
    this.closed = true
    if (this.timer !== undefined) clearTimeout(this.timer)
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
