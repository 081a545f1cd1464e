import { Reason } from './reasons.js'

/** Window width in packets: a packet this far behind the newest from its source is refused. */
export const REPLAY_WINDOW = 4096
const WORDS = REPLAY_WINDOW / 32

class SourceWindow {
  epoch: number
  /** Highest sequence accepted in this epoch, or -1 before the first. */
  top = -1
  /** Bit (seq mod REPLAY_WINDOW) is set when that sequence was accepted. */
  readonly bits = new Uint32Array(WORDS)
  constructor (epoch: number) { this.epoch = epoch }
}

/**
 * Anti-replay in the manner of IPsec (RFC 4303 §3.4.3), per source relay, with a boot epoch: a
 * newer epoch starts a fresh window, an older one is a replay. Packets may arrive out of order
 * anywhere inside the window. Call accept() only for packets whose tag verified, so an attacker
 * without the key cannot move a window forward.
 */
export class ReplayWindows {
  private readonly sources = new Map<number, SourceWindow>()
  private readonly maxSources: number

  constructor (maxSources = 65536) {
    this.maxSources = maxSources
  }

  /** Returns Reason.OK and records the packet, or Reason.REPLAY. */
  accept (src: number, epoch: number, seq: number): Reason {
    let w = this.sources.get(src)
    if (w === undefined) {
      if (this.sources.size >= this.maxSources) this.evictOne()
      w = new SourceWindow(epoch)
      this.sources.set(src, w)
    } else if (epoch !== w.epoch) {
      if (epoch < w.epoch) return Reason.REPLAY
      w.epoch = epoch
      w.top = -1
      w.bits.fill(0)
    }
    const bits = w.bits
    if (seq > w.top) {
      const gap = seq - w.top
      if (gap >= REPLAY_WINDOW || w.top < 0) {
        bits.fill(0)
      } else {
        for (let s = w.top + 1; s < seq; s++) {
          const i = s % REPLAY_WINDOW
          bits[i >>> 5] &= ~(1 << (i & 31))
        }
      }
      w.top = seq
      const i = seq % REPLAY_WINDOW
      bits[i >>> 5] |= 1 << (i & 31)
      return Reason.OK
    }
    if (w.top - seq >= REPLAY_WINDOW) return Reason.REPLAY
    const i = seq % REPLAY_WINDOW
    const mask = 1 << (i & 31)
    if ((bits[i >>> 5] & mask) !== 0) return Reason.REPLAY
    bits[i >>> 5] |= mask
    return Reason.OK
  }

  get size (): number { return this.sources.size }

  private evictOne (): void {
    // Insertion order: the oldest source goes first. Only reachable with more authenticated
    // sources than a mesh should have.
    const first = this.sources.keys().next()
    if (first.done !== true) this.sources.delete(first.value)
  }
}
