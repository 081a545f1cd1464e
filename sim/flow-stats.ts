/**
 * Per-flow bookkeeping for a simulation run: what was sent when, what arrived with what latency,
 * and the figures FlowResult wants (loss, p50/p99, one series bucket per second). Pure: callers
 * pass times in seconds from the scenario's start.
 */
export class FlowStats {
  /** Send time (s) per sequence number. */
  private readonly sentAt: number[] = []
  /** Latency (ms) per sequence number; undefined until it arrives. */
  private readonly latency: Array<number | undefined> = []
  private delivered = 0

  sent (seq: number, tS: number): void { this.sentAt[seq] = tS }

  /** Records an arrival; duplicates count once. */
  arrived (seq: number, latencyMs: number): void {
    if (seq >= this.sentAt.length || this.latency[seq] !== undefined) return
    this.latency[seq] = latencyMs
    this.delivered++
  }

  get sentCount (): number { return this.sentAt.length }
  get deliveredCount (): number { return this.delivered }
  get loss (): number { return this.sentAt.length === 0 ? 0 : 1 - this.delivered / this.sentAt.length }

  /** Latency percentile (0–100) over delivered packets, or null when none arrived. */
  percentile (p: number): number | null {
    const xs = this.latency.filter((x): x is number => x !== undefined)
    return percentileOf(xs, p)
  }

  /** Per-second buckets by send time, for `durationS` seconds. */
  series (durationS: number): Array<{ t_s: number, sent: number, loss: number, p50_ms: number | null }> {
    const n = Math.ceil(durationS)
    const sent = new Array<number>(n).fill(0)
    const lat: number[][] = Array.from({ length: n }, () => [])
    for (let seq = 0; seq < this.sentAt.length; seq++) {
      const b = Math.floor(this.sentAt[seq])
      if (b < 0 || b >= n) continue
      sent[b]++
      const l = this.latency[seq]
      if (l !== undefined) lat[b].push(l)
    }
    return sent.map((s, t) => ({ t_s: t, sent: s, loss: s === 0 ? 0 : round(1 - lat[t].length / s, 4), p50_ms: percentileOf(lat[t], 50) }))
  }
}

/** Nearest-rank percentile; null for an empty list. */
export function percentileOf (xs: number[], p: number): number | null {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  return round(s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)], 3)
}

export function round (x: number, digits: number): number {
  return Math.round(x * 10 ** digits) / 10 ** digits
}
