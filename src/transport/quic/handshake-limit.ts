import { DEFAULT_MAX_PENDING_HANDSHAKES, DEFAULT_MAX_PENDING_PER_SOURCE } from './constants.js'

/** Why a handshake was refused: the server-wide cap or the per-source cap was reached. */
export type HandshakeRefusal = 'total' | 'source'

/** Counts a QUIC server keeps on handshakes; see QuicServer.handshakes. */
export interface HandshakeStats {
  /** Connections between their first Initial (past address validation) and the auth hook's verdict. */
  pending: number
  /** Initial packets dropped because the server-wide cap was reached. */
  refusedTotal: number
  /** Initial packets dropped because their source address had its cap of pending handshakes. */
  refusedSource: number
}

export interface HandshakeLimitInit {
  /** Pending handshakes the server holds at most. */
  maxPending?: number
  /** Pending handshakes one source IP address holds at most. */
  maxPendingPerSource?: number
}

/**
 * Caps pending handshakes in total and per source address. Pure bookkeeping: the server asks
 * tryAcquire() before it lets a connection start, and calls release() once for each acquire that
 * succeeded, when the connection is authenticated, refused, or gone.
 */
export class HandshakeLimit {
  readonly maxPending: number
  readonly maxPendingPerSource: number
  private readonly bySource = new Map<string, number>()
  private readonly stats: HandshakeStats = { pending: 0, refusedTotal: 0, refusedSource: 0 }

  constructor (init: HandshakeLimitInit = {}) {
    this.maxPending = init.maxPending ?? DEFAULT_MAX_PENDING_HANDSHAKES
    this.maxPendingPerSource = init.maxPendingPerSource ?? DEFAULT_MAX_PENDING_PER_SOURCE
    for (const [name, v] of [['maxPendingHandshakes', this.maxPending], ['maxPendingPerSource', this.maxPendingPerSource]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new TypeError(`QUIC server option ${name} must be a positive integer, got ${String(v)}`)
    }
    if (this.maxPendingPerSource > this.maxPending) {
      throw new TypeError(`QUIC server option maxPendingPerSource (${this.maxPendingPerSource}) must not exceed maxPendingHandshakes (${this.maxPending})`)
    }
  }

  /** Takes a slot for `host`, or counts and returns why not. */
  tryAcquire (host: string): HandshakeRefusal | undefined {
    if (this.stats.pending >= this.maxPending) { this.stats.refusedTotal++; return 'total' }
    const n = this.bySource.get(host) ?? 0
    if (n >= this.maxPendingPerSource) { this.stats.refusedSource++; return 'source' }
    this.bySource.set(host, n + 1)
    this.stats.pending++
    return undefined
  }

  release (host: string): void {
    const n = this.bySource.get(host)
    if (n === undefined) return // nothing held: the caller keeps one flag per slot, so not reached
    if (n <= 1) this.bySource.delete(host)
    else this.bySource.set(host, n - 1)
    this.stats.pending--
  }

  /** Pending handshakes from one source address. */
  pendingFrom (host: string): number { return this.bySource.get(host) ?? 0 }

  /** A copy of the counts. */
  snapshot (): HandshakeStats { return { ...this.stats } }
}
