/**
 * One impaired link between two in-process relays, for the probing benchmark (probe.ts).
 *
 *   a ──▶ P_ab.listen ═forward═▶ b      a's probes (the a→b direction)
 *   a ◀── P_ab.listen ◀═reverse═ b      b's echoes to them
 *   b ──▶ P_ba.listen ═forward═▶ a      b's probes
 *   b ◀── P_ba.listen ◀═reverse═ a      a's echoes to them (also the a→b direction)
 *
 * Each relay gets its own StaticMesh in which the peer's address is the proxy in front of it, so
 * every packet of the link crosses one impaired delay line. The four lines share the impairment
 * but not the seed. Observers on the lines record every decision the emulator took: which of a's
 * probes it dropped (the truth the loss estimate is checked against), the a→b byte count, and
 * when echoes got through (the silences the down detector sees).
 */
import { performance } from 'node:perf_hooks'
import { systemClock } from '../../src/clock.js'
import { silentLogger } from '../../src/logging.js'
import type { DelayLine } from '../../src/transport/impair/delay-line.js'
import type { ImpairParams } from '../../src/transport/impair/model.js'
import { ImpairProxy } from '../../src/transport/impair/udp-proxy.js'
import { HEADER_LENGTH, OFF_SRC, OFF_TYPE, PacketType } from '../../src/wire/constants.js'
import { relayNumber } from '../../src/wire/relay-id.js'
import { Relay } from '../../relay/relay.js'
import { validateStaticMesh } from '../../relay/static-mesh.js'
import { freeUdpPorts } from './probe-util.js'

/** IPv4 (20 B) plus UDP (8 B) header: what a datagram costs on the wire beyond its payload. */
export const IP_UDP_HEADER = 28

const HOST = '127.0.0.1'
const A = relayNumber('a')
const B = relayNumber('b')

export interface PairInit {
  impair: Partial<ImpairParams>
  /** Base seed; the four delay lines use seed … seed + 3. */
  seed: number
  meshKey: Buffer
}

/** Traffic counters of one direction; snapshot and subtract to get a window's figures. */
export interface DirectionCount {
  packets: number
  /** Bytes including the IPv4/UDP header. */
  bytes: number
}

export class LinkPair {
  readonly a: Relay
  readonly b: Relay
  readonly pab: ImpairProxy
  readonly pba: ImpairProxy
  /** a's probes by sequence: true if the a→b line dropped it, false if it let it through. */
  readonly aProbeDropped: boolean[] = []
  /** Everything a sent toward b (its probes and its echoes), as offered to the emulator. */
  readonly aToB: DirectionCount = { packets: 0, bytes: 0 }
  readonly bToA: DirectionCount = { packets: 0, bytes: 0 }
  /** Longest gap (ms) between echoes the emulator let through toward a, and toward b. */
  maxEchoGapToA = 0
  maxEchoGapToB = 0
  /**
   * How late (ms) each delivered packet left its delay line, past the deadline the model set; all
   * four lines. Whatever lateness there is adds to the RTT the prober measures.
   */
  readonly lateMs: number[] = []
  private lastEchoToA = NaN
  private lastEchoToB = NaN

  private constructor (a: Relay, b: Relay, pab: ImpairProxy, pba: ImpairProxy) {
    this.a = a; this.b = b; this.pab = pab; this.pba = pba
    for (const line of [pab.forward, pab.reverse, pba.forward, pba.reverse]) watchLateness(line, this.lateMs)
    pab.forward.onDecision = (buf, dropped) => {
      if (buf[OFF_TYPE] !== PacketType.PROBE || buf.readUInt32BE(OFF_SRC) !== A) return
      this.aProbeDropped[buf.readUInt32BE(HEADER_LENGTH)] = dropped
      count(this.aToB, buf)
    }
    pba.reverse.onDecision = (buf, dropped) => {
      if (buf.readUInt32BE(OFF_SRC) !== A) return
      count(this.aToB, buf)
      if (buf[OFF_TYPE] === PacketType.PROBE_ECHO && !dropped) this.maxEchoGapToB = this.gap('b')
    }
    pba.forward.onDecision = (buf) => { if (buf.readUInt32BE(OFF_SRC) === B) count(this.bToA, buf) }
    pab.reverse.onDecision = (buf, dropped) => {
      if (buf.readUInt32BE(OFF_SRC) !== B) return
      count(this.bToA, buf)
      if (buf[OFF_TYPE] === PacketType.PROBE_ECHO && !dropped) this.maxEchoGapToA = this.gap('a')
    }
  }

  private gap (to: 'a' | 'b'): number {
    const now = performance.now()
    if (to === 'a') {
      const g = now - this.lastEchoToA
      this.lastEchoToA = now
      return Number.isNaN(g) ? this.maxEchoGapToA : Math.max(this.maxEchoGapToA, g)
    }
    const g = now - this.lastEchoToB
    this.lastEchoToB = now
    return Number.isNaN(g) ? this.maxEchoGapToB : Math.max(this.maxEchoGapToB, g)
  }

  /** Forgets the echo-gap maxima, e.g. after the warm-up. */
  resetGaps (): void {
    this.maxEchoGapToA = 0
    this.maxEchoGapToB = 0
  }

  /** Probes of a with sequence in [from, to) that the emulator decided on, and how many it dropped. */
  applied (from: number, to: number): { n: number, drops: number } {
    let n = 0; let drops = 0
    for (let s = from; s < to; s++) {
      const d = this.aProbeDropped[s]
      if (d === undefined) continue
      n++
      if (d) drops++
    }
    return { n, drops }
  }

  /** Applies `params` to all four delay lines. */
  set (params: Partial<ImpairParams>): void {
    this.pab.set(params)
    this.pba.set(params)
  }

  async stop (): Promise<void> {
    this.pab.stop()
    this.pba.stop()
    await Promise.all([this.a.stop(), this.b.stop()])
  }

  /** Builds and starts the pair; retries when a port picked as free was taken meanwhile. */
  static async start (init: PairInit): Promise<LinkPair> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await LinkPair.tryStart(init)
      } catch (err) {
        if (attempt >= 3) throw err
      }
    }
  }

  private static async tryStart (init: PairInit): Promise<LinkPair> {
    const logger = silentLogger()
    const [portA, portB] = await freeUdpPorts(2)
    const pab = new ImpairProxy({ logger }, { listen: { host: HOST, port: 0, family: 4 }, to: { host: HOST, port: portB, family: 4 }, forward: init.impair, seed: init.seed })
    const pba = new ImpairProxy({ logger }, { listen: { host: HOST, port: 0, family: 4 }, to: { host: HOST, port: portA, family: 4 }, forward: init.impair, seed: init.seed + 2 })
    const started: Array<{ stop: () => unknown }> = []
    try {
      await pab.start(); started.push(pab)
      await pba.start(); started.push(pba)
      const addr = (p: ImpairProxy): string => `${HOST}:${p.bound?.port as number}`
      const meshA = validateStaticMesh({ relays: [{ id: 'a', address: `${HOST}:${portA}` }, { id: 'b', address: addr(pab) }], links: [['a', 'b']] })
      const meshB = validateStaticMesh({ relays: [{ id: 'a', address: addr(pba) }, { id: 'b', address: `${HOST}:${portB}` }], links: [['a', 'b']] })
      const components = { clock: systemClock, logger }
      const a = new Relay(components, { id: 'a', listen: { host: HOST, port: portA, family: 4 }, meshKey: init.meshKey, staticMesh: meshA })
      const b = new Relay(components, { id: 'b', listen: { host: HOST, port: portB, family: 4 }, meshKey: init.meshKey, staticMesh: meshB })
      // The observers go on before any packet flows, so the record starts at sequence 0.
      const pair = new LinkPair(a, b, pab, pba)
      started.push(a); await a.start()
      started.push(b); await b.start()
      return pair
    } catch (err) {
      for (const s of started) await s.stop()
      throw err
    }
  }
}

function count (c: DirectionCount, buf: Buffer): void {
  c.packets++
  c.bytes += buf.length + IP_UDP_HEADER
}

/**
 * Records, for every packet `line` delivers, how long after its deadline it went out. The model's
 * decide() returns the deadline and release() runs at delivery; without reordering (the default)
 * packets leave in the order they were decided, so a FIFO of deadlines pairs the two.
 */
function watchLateness (line: DelayLine, sink: number[]): void {
  const model = line.model
  const decide = model.decide.bind(model)
  const release = model.release.bind(model)
  let deadlines: number[] = []
  let head = 0
  model.decide = (now: number): number => {
    const at = decide(now)
    if (at >= 0) deadlines.push(at)
    return at
  }
  model.release = (): boolean => {
    const at = deadlines[head++]
    if (head >= 4096) { deadlines = deadlines.slice(head); head = 0 }
    const ok = release()
    if (ok && at !== undefined) sink.push(performance.now() - at)
    return ok
  }
}
