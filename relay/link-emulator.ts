import { DelayLine } from '../src/transport/impair/delay-line.js'
import type { ImpairParams } from '../src/transport/impair/model.js'
import type { MeshSocket } from './data-plane.js'

/**
 * Impairs what this relay sends to chosen peer addresses: loss, delay, jitter, rate limits and
 * outages (src/transport/impair), on the real mesh socket. Tests and the simulation harness use it
 * to give each directed link its own character; the kernel here has no netem, and one socket per
 * relay leaves no room for a proxy per link. Addresses without impairment go straight through, so
 * an idle emulator costs one Map lookup per packet.
 */
export class LinkEmulator {
  private readonly lines = new Map<string, DelayLine>()
  private socket: MeshSocket | undefined
  private seed = 1

  /** Wraps the relay's socket; called once by the relay. */
  wrap (socket: MeshSocket): MeshSocket {
    this.socket = socket
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
    this.lines.set(key, new DelayLine((buf) => { this.socket?.send(buf, port, host) }, params, this.seed++))
  }

  stats (host: string, port: number): DelayLine['model']['stats'] | undefined {
    return this.lines.get(`${host}:${port}`)?.model.stats
  }

  close (): void {
    for (const l of this.lines.values()) l.close()
    this.lines.clear()
  }
}
