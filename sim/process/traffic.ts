import dgram from 'node:dgram'
import { performance } from 'node:perf_hooks'
import { createLogger } from '../../src/logging.js'
import type { HostPort } from '../../src/transport/address.js'
import type { ImpairParams } from '../../src/transport/impair/model.js'
import { ImpairProxy } from '../../src/transport/impair/udp-proxy.js'
import { FlowStats } from '../flow-stats.js'

/** Every datagram starts with its sequence number and send time, so the sink can time it. */
const SEQ_BYTES = 4
const TIME_BYTES = 8

/** A UDP socket bound on 127.0.0.1 that counts arrivals into `stats`. */
class Sink {
  readonly socket = dgram.createSocket('udp4')
  constructor (private readonly stats: FlowStats) {
    this.socket.on('message', (m) => {
      if (m.length < SEQ_BYTES + TIME_BYTES) return
      this.stats.arrived(m.readUInt32BE(0), performance.now() - m.readDoubleBE(SEQ_BYTES))
    })
  }

  async bind (): Promise<HostPort> {
    await new Promise<void>((resolve) => { this.socket.bind(0, '127.0.0.1', resolve) })
    return { host: '127.0.0.1', port: this.socket.address().port, family: 4 }
  }
}

/**
 * One scenario flow, sent twice over: through the mesh (into the source relay's tunnel) and over
 * the direct path alone (through an ImpairProxy that gets the direct link's impairments), packet
 * for packet at the same moments, so the two are measured under the same conditions.
 */
export class FlowDriver {
  readonly mesh = new FlowStats()
  readonly direct = new FlowStats()
  private readonly tx = dgram.createSocket('udp4')
  private readonly meshSink = new Sink(this.mesh)
  private readonly directSink = new Sink(this.direct)
  private proxy: ImpairProxy | undefined
  private ingress: HostPort | undefined
  private readonly size: number
  private seq = 0
  private credit = 0

  constructor (readonly id: string, readonly pps: number, size: number, private readonly directParams: Partial<ImpairParams> | undefined, private readonly seed: number) {
    this.size = Math.max(size, SEQ_BYTES + TIME_BYTES)
  }

  /** Binds the sinks; returns the mesh sink's address, the source tunnel's TARGET. */
  async open (): Promise<HostPort> {
    await new Promise<void>((resolve) => { this.tx.bind(0, '127.0.0.1', resolve) })
    const target = await this.meshSink.bind()
    const direct = await this.directSink.bind()
    if (this.directParams !== undefined) {
      this.proxy = new ImpairProxy({ logger: createLogger({ level: 'silent', pretty: false }) }, {
        listen: { host: '127.0.0.1', port: 0, family: 4 }, to: direct, forward: this.directParams, seed: this.seed
      })
      await this.proxy.start()
    }
    return target
  }

  /** Where mesh packets go in: the source relay's tunnel ingress. */
  setIngress (addr: HostPort): void { this.ingress = addr }

  /** Changes the direct path's impairments (the direct link's schedule). */
  setDirect (params: Partial<ImpairParams>): void { this.proxy?.set(params) }

  /** Sends what is due after `elapsedMs` of pacing at `pps`; `tS` is the scenario time. */
  pace (elapsedMs: number, tS: number): void {
    this.credit += (elapsedMs * this.pps) / 1000
    while (this.credit >= 1) {
      this.credit--
      const seq = this.seq++
      // A buffer per packet: dgram sends asynchronously and must not see the next packet's bytes.
      const buf = Buffer.alloc(this.size)
      buf.writeUInt32BE(seq, 0)
      buf.writeDoubleBE(performance.now(), SEQ_BYTES)
      this.mesh.sent(seq, tS)
      this.direct.sent(seq, tS)
      if (this.ingress !== undefined) this.tx.send(buf, this.ingress.port, this.ingress.host)
      const d = this.proxy?.bound
      if (d !== undefined) this.tx.send(buf, d.port, d.host)
    }
  }

  close (): void {
    this.proxy?.stop()
    for (const s of [this.tx, this.meshSink.socket, this.directSink.socket]) s.close()
  }
}
