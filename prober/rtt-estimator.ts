/**
 * Smoothed RTT and RTT variance as in RFC 6298 (alpha = 1/8, beta = 1/4), and jitter as in
 * RFC 3550 §6.4.1: the mean deviation of the difference between consecutive RTT samples, with
 * gain 1/16. Pure: feed it samples in milliseconds.
 */
export class RttEstimator {
  /** Smoothed RTT (ms), NaN before the first sample. */
  srtt = NaN
  /** RTT variance (ms). */
  rttvar = 0
  /** Jitter (ms). */
  jitter = 0
  /** Samples taken so far. */
  samples = 0
  private last = NaN

  /** Back to no samples, as constructed. */
  reset (): void {
    this.srtt = NaN
    this.rttvar = 0
    this.jitter = 0
    this.samples = 0
    this.last = NaN
  }

  sample (rttMs: number): void {
    if (this.samples === 0) {
      this.srtt = rttMs
      this.rttvar = rttMs / 2
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - rttMs)
      this.srtt = 0.875 * this.srtt + 0.125 * rttMs
      this.jitter += (Math.abs(rttMs - this.last) - this.jitter) / 16
    }
    this.last = rttMs
    this.samples++
  }
}
