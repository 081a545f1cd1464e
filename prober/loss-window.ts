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
/** A ring sample's numbers, and their offsets within it. */
const SAMPLE = 4
const T = 0
const SEQ = 1
const RX = 2
const GOT = 3

export class LossWindow {
  private readonly windowMs: number
  private readonly capacity: number
  /**
   * Ring of echo samples, SAMPLE numbers each (arrival time, probe sequence, peer's count, echoes
   * so far) side by side, so a sample costs no allocation and reading or writing one touches one
   * cache line rather than four: at thousands of links (sim/model) the rings are what misses.
   */
  private readonly ring: Float64Array
  private head = 0
  private count = 0
  /** Echoes received so far. */
  private echoes = 0

  constructor (windowMs: number, capacity = 4096) {
    this.windowMs = windowMs
    this.capacity = capacity
    this.ring = new Float64Array(capacity * SAMPLE)
  }

  /** Records an echo that arrived at `now` for probe `probeSeq`, with the peer's received count. */
  add (now: number, probeSeq: number, rxCount: number): void {
    this.echoes++
    const cap = this.capacity
    const r = this.ring
    // A reordered echo still counts as received, but must not move the window backwards.
    if (this.count > 0 && probeSeq <= r[((this.head + this.count - 1) % cap) * SAMPLE + SEQ]) return
    const i = ((this.head + this.count) % cap) * SAMPLE
    r[i + T] = now; r[i + SEQ] = probeSeq; r[i + RX] = rxCount; r[i + GOT] = this.echoes
    if (this.count < cap) this.count++
    else this.head = (this.head + 1) % cap
    this.trim(now)
  }

  private trim (now: number): void {
    const cap = this.capacity
    // Keep one sample older than the window as the base of the difference.
    while (this.count > 2 && this.ring[((this.head + 1) % cap) * SAMPLE + T] < now - this.windowMs) {
      this.head = (this.head + 1) % cap
      this.count--
    }
  }

  /** Offset in the ring of the newest sample. */
  private last (): number {
    return ((this.head + this.count - 1) % this.capacity) * SAMPLE
  }

  /** Probes covered by the window's estimate, or 0 when it has too few echoes. */
  probes (now: number): number {
    this.trim(now)
    if (this.count < 2) return 0
    return this.ring[this.last() + SEQ] - this.ring[this.head * SAMPLE + SEQ]
  }

  /** Range of probe sequences [from, to) the estimate covers; for measurement harnesses. */
  range (now: number): [number, number] {
    this.trim(now)
    return [this.ring[this.head * SAMPLE + SEQ], this.ring[this.last() + SEQ]]
  }

  /** Forward loss ratio over the window, or NaN without enough echoes. */
  forward (now: number): number { return this.missing(now, SEQ, RX) }

  /** Reverse loss ratio over the window, or NaN without enough echoes. */
  reverse (now: number): number { return this.missing(now, RX, GOT) }

  /** Round-trip loss (probe or its echo lost) over the window, or NaN without enough echoes. */
  roundTrip (now: number): number { return this.missing(now, SEQ, GOT) }

  /** 1 − Δarrived/Δsent between the window's oldest and newest samples, or NaN. */
  private missing (now: number, sent: number, arrived: number): number {
    this.trim(now)
    if (this.count < 2) return NaN
    const r = this.ring
    const last = this.last()
    const first = this.head * SAMPLE
    const n = r[last + sent] - r[first + sent]
    if (n <= 0) return NaN
    return clamp01(1 - (r[last + arrived] - r[first + arrived]) / n)
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
