import { Reason } from './reasons.js'

/** Window width in packets: a packet this far behind the newest from its source is refused. */
export const REPLAY_WINDOW = 4096
/**
 * Bitmap words per source: the window's 128 plus one spare (RFC 6479 §2). The spare lets the
 * window slide by whole words: the word the newest sequence moves into is cleared in one write,
 * while every sequence less than REPLAY_WINDOW behind the newest still has its bit.
 */
const WORDS = REPLAY_WINDOW / 32 + 1

/** What ReplayWindows.check found. Plain numbers, so the hot path compares small integers. */
export const Seen = {
  /** Not seen before and inside the window: recorded now. */
  NEW: 0,
  /** Inside the window and already recorded: a copy of a packet this relay has handled. */
  DUPLICATE: 1,
  /** REPLAY_WINDOW or more behind the newest: cannot be told apart from a replay. */
  STALE: 2
} as const
export type Seen = typeof Seen[keyof typeof Seen]

/**
 * One sliding window over one sequence space (a link, or one source boot's packets to this relay):
 * anti-replay in the manner of IPsec (RFC 4303 §3.4.3). Packets may arrive out of order anywhere
 * inside the window. The bitmap slides a word at a time (RFC 6479), so a jump of any size costs at
 * most WORDS word writes. Call check() only for packets that authenticated, so an attacker without
 * the key cannot move it forward.
 */
export class SeqWindow {
  /** Highest sequence accepted, or -1 before the first. */
  top = -1
  /** Bit (seq mod 32) of word (floor(seq / 32) mod WORDS) is set when that sequence was accepted. */
  readonly bits = new Uint32Array(WORDS)

  /** Records the sequence and returns Seen.NEW, or returns DUPLICATE or STALE and records nothing. */
  check (seq: number): Seen {
    const bits = this.bits
    // seq < 2^53. A bitwise operator takes its operand modulo 2^32, so seq & 31 is exact for any
    // such integer, and the word number below is an exact integer in a double.
    const bit = seq & 31
    const word = (seq - bit) / 32
    const mask = 1 << bit
    const top = this.top
    if (seq > top) {
      const topWord = (top - (top & 31)) / 32
      if (top < 0 || word - topWord >= WORDS) {
        bits.fill(0)
      } else {
        for (let k = topWord + 1; k <= word; k++) bits[k % WORDS] = 0
      }
      this.top = seq
      bits[word % WORDS] |= mask
      return Seen.NEW
    }
    if (top - seq >= REPLAY_WINDOW) return Seen.STALE
    const i = word % WORDS
    if ((bits[i] & mask) !== 0) return Seen.DUPLICATE
    bits[i] |= mask
    return Seen.NEW
  }

  reset (): void {
    this.top = -1
    this.bits.fill(0)
  }
}

class SourceWindow extends SeqWindow {
  constructor (public epoch: number) { super() }
}

/**
 * A SeqWindow per source relay and boot: another boot id starts a fresh window.
 */
export class ReplayWindows {
  private readonly sources = new Map<number, SourceWindow>()
  private readonly maxSources: number

  constructor (maxSources = 65536) {
    this.maxSources = maxSources
  }

  /** Records the packet and returns Seen.NEW, or returns DUPLICATE or STALE and records nothing. */
  check (src: number, epoch: number, seq: number): Seen {
    let w = this.sources.get(src)
    if (w === undefined) {
      if (this.sources.size >= this.maxSources) this.evictOne()
      w = new SourceWindow(epoch)
      this.sources.set(src, w)
    } else if (epoch !== w.epoch) {
      // Boot ids are random, not ordered: another one starts a fresh window. The data plane lets
      // no packet of an ended boot this far at a destination (the session checks the boot first).
      w.epoch = epoch
      w.reset()
    }
    return w.check(seq)
  }

  /** check() as a drop reason: Reason.OK when new, else Reason.REPLAY. */
  accept (src: number, epoch: number, seq: number): Reason {
    return this.check(src, epoch, seq) === Seen.NEW ? Reason.OK : Reason.REPLAY
  }

  get size (): number { return this.sources.size }

  private evictOne (): void {
    // Insertion order: the oldest source goes first. Only reachable with more authenticated
    // sources than a mesh should have.
    const first = this.sources.keys().next()
    if (first.done !== true) this.sources.delete(first.value)
  }
}
