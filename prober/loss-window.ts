/**
 * Per-direction loss over a sliding time window, from cumulative counters carried in echoes.
 *
 * Every echo tells us (a) which of our probes it answers (probe sequence), and (b) how many of our
 * probes the peer has received so far. The peer echoes each probe it receives, so (b) is also the
 * number of echoes it has sent us. Between two echoes e0 and e1:
 *   forward loss (us → peer) = 1 − (rx1 − rx0) / (seq1 − seq0)
 *   reverse loss (peer → us) = 1 − (echoes we got between them) / (rx1 − rx0)
 * Lost echoes do not disturb the forward figure, since each echo carries the running total.
 */
export class LossWindow {
  private readonly windowMs: number
  // Ring of echo samples; parallel arrays so a sample costs no allocation.
  private readonly t: Float64Array
  private readonly seq: Float64Array
  private readonly rx: Float64Array
  private readonly got: Float64Array
  private head = 0
  private count = 0
  /** Echoes received so far. */
  private echoes = 0

  constructor (windowMs: number, capacity = 4096) {
    this.windowMs = windowMs
    this.t = new Float64Array(capacity)
    this.seq = new Float64Array(capacity)
    this.rx = new Float64Array(capacity)
    this.got = new Float64Array(capacity)
  }

  /** Records an echo that arrived at `now` for probe `probeSeq`, with the peer's received count. */
  add (now: number, probeSeq: number, rxCount: number): void {
    this.echoes++
    const cap = this.t.length
    // A reordered echo still counts as received, but must not move the window backwards.
    if (this.count > 0 && probeSeq <= this.seq[(this.head + this.count - 1) % cap]) return
    const i = (this.head + this.count) % cap
    this.t[i] = now; this.seq[i] = probeSeq; this.rx[i] = rxCount; this.got[i] = this.echoes
    if (this.count < cap) this.count++
    else this.head = (this.head + 1) % cap
    this.trim(now)
  }

  private trim (now: number): void {
    const cap = this.t.length
    // Keep one sample older than the window as the base of the difference.
    while (this.count > 2 && this.t[(this.head + 1) % cap] < now - this.windowMs) {
      this.head = (this.head + 1) % cap
      this.count--
    }
  }

  /** Probes covered by the window's estimate, or 0 when it has too few echoes. */
  probes (now: number): number {
    this.trim(now)
    if (this.count < 2) return 0
    const last = (this.head + this.count - 1) % this.t.length
    return this.seq[last] - this.seq[this.head]
  }

  /** Range of probe sequences [from, to) the estimate covers; for measurement harnesses. */
  range (now: number): [number, number] {
    this.trim(now)
    const last = (this.head + this.count - 1) % this.t.length
    return [this.seq[this.head], this.seq[last]]
  }

  /** Forward loss ratio over the window, or NaN without enough echoes. */
  forward (now: number): number { return this.missing(now, this.seq, this.rx) }

  /** Reverse loss ratio over the window, or NaN without enough echoes. */
  reverse (now: number): number { return this.missing(now, this.rx, this.got) }

  /** Round-trip loss (probe or its echo lost) over the window, or NaN without enough echoes. */
  roundTrip (now: number): number { return this.missing(now, this.seq, this.got) }

  /** 1 − Δarrived/Δsent between the window's oldest and newest samples, or NaN. */
  private missing (now: number, sent: Float64Array, arrived: Float64Array): number {
    this.trim(now)
    if (this.count < 2) return NaN
    const last = (this.head + this.count - 1) % this.t.length
    const n = sent[last] - sent[this.head]
    if (n <= 0) return NaN
    return clamp01(1 - (arrived[last] - arrived[this.head]) / n)
  }

  /** Forgets every sample: used when a link comes back up, so old history does not linger. */
  reset (): void {
    this.head = 0
    this.count = 0
    // Only differences of this count are read, so zeroing it changes no estimate.
    this.echoes = 0
  }
}

function clamp01 (x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x
}
