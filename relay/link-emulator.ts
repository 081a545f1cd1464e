import { ByteBudget, DEFAULT_MAX_QUEUE_BYTES, DelayLine } from '../src/transport/impair/delay-line.js'
import type { ImpairParams } from '../src/transport/impair/model.js'
import type { MeshSocket } from './types.js'

export interface LinkEmulatorInit {
  /** Bytes all impaired links together may hold in flight; default 16 MiB. */
  maxQueueBytes?: number
}

/**
 * Impairs what this relay sends to chosen peer addresses: loss, delay, jitter, rate limits and
 * outages (src/transport/impair), on the real mesh socket. Tests and the simulation harness use it
 * to give each directed link its own character; the kernel here has no netem, and one socket per
 * relay leaves no room for a proxy per link. Addresses without impairment go straight through, so
 * an idle emulator costs one Map lookup per packet.
 *
 * What waits in the delay lines is capped in bytes across all links (`maxQueueBytes`), so a 60 s
 * delay cannot hold unbounded traffic: a packet that does not fit is dropped and counted, by the
 * relay, as `queue_full`.
 */
export class LinkEmulator {
  private readonly lines = new Map<string, DelayLine>()
  private readonly budget: ByteBudget
  private socket: MeshSocket | undefined
  private onQueueFull: () => void = () => {}
  private seed = 1

  constructor (init: LinkEmulatorInit = {}) {
    this.budget = new ByteBudget(init.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES)
  }

  /** Wraps the relay's socket; called once by the relay, with how to count a packet dropped for want of room. */
  wrap (socket: MeshSocket, onQueueFull?: () => void): MeshSocket {
    this.socket = socket
    if (onQueueFull !== undefined) this.onQueueFull = onQueueFull
    return {
      send: (buf, port, host) => {
        const line = this.lines.size === 0 ? undefined : this.lines.get(`${host}:${port}`)
        if (line === undefined) socket.send(buf, port, host)
        else line.push(buf)
      },
      getSendQueueCount: () => socket.getSendQueueCount()
    }
  }

  /** Sets (merges) the impairment of packets sent to host:port. */
  set (host: string, port: number, params: Partial<ImpairParams>): void {
    const key = `${host}:${port}`
    const line = this.lines.get(key)
    if (line !== undefined) { line.model.set(params); return }
    this.lines.set(key, new DelayLine((buf) => { this.socket?.send(buf, port, host) }, params, this.seed++, {
      budget: this.budget,
      onOverflow: () => { this.onQueueFull() }
    }))
  }

  stats (host: string, port: number): DelayLine['model']['stats'] | undefined {
    return this.lines.get(`${host}:${port}`)?.model.stats
  }

  /** Bytes waiting in all lines, and the cap. */
  get queued (): { bytes: number, maxBytes: number } {
    return { bytes: this.budget.used, maxBytes: this.budget.max }
  }

  close (): void {
    for (const l of this.lines.values()) l.close()
    this.lines.clear()
  }
}
