import type { Clock, Timer } from '../../src/clock.js'
import type { Logger } from '../../src/logging.js'
import { Flag } from '../../src/wire/constants.js'
import type { PacketHeader } from '../../src/wire/header.js'
import { Reason } from '../../src/wire/reasons.js'
import { EgressPolicy } from './egress-policy.js'
import { TunnelEgress } from './egress.js'
import { FlowTable, TunnelIngress } from './ingress.js'
import { SourceGate } from './source-gate.js'
import type { TunnelSpec } from './spec.js'
import { DEFAULT_TUNNEL_LIMITS, type TunnelLimits, type TunnelPlane } from './types.js'

/** How often token buckets are refilled (and the clock read for lastSeen). */
const TICK_MS = 100

export interface TunnelServiceComponents {
  plane: TunnelPlane
  clock: Clock
  logger: Logger
}

export interface TunnelServiceInit {
  tunnels: Array<{ spec: TunnelSpec, dst: number }>
  egressAllow?: string[]
  /** --tunnel-allow-source CIDRs; default loopback. */
  allowSource?: string[]
  limits?: Partial<TunnelLimits>
}

/** The relay's tunnel service (service id 1): every ingress tunnel plus the egress end. */
export class TunnelService {
  readonly ingress: TunnelIngress[]
  readonly egress: TunnelEgress
  readonly gate: SourceGate
  private readonly flows = new FlowTable()
  private readonly clock: Clock
  private readonly plane: TunnelPlane
  private readonly limits: TunnelLimits
  private timer: Timer | undefined
  private lastTick = 0
  private lastSweep = 0

  constructor (components: TunnelServiceComponents, init: TunnelServiceInit) {
    this.clock = components.clock
    this.plane = components.plane
    this.limits = { ...DEFAULT_TUNNEL_LIMITS, ...init.limits }
    const logger = components.logger.child({ component: 'tunnel' })
    this.gate = new SourceGate({ plane: this.plane }, { allow: init.allowSource, ratePps: this.limits.sourceRatePps, maxSources: this.limits.maxSessions })
    this.ingress = init.tunnels.map((t) => new TunnelIngress({ plane: this.plane, flows: this.flows, gate: this.gate, logger }, t.spec, t.dst, this.limits))
    this.egress = new TunnelEgress({ plane: this.plane, logger }, new EgressPolicy(init.egressAllow), this.limits)
  }

  async start (): Promise<void> {
    const now = this.clock.monoMs()
    this.lastTick = now
    this.lastSweep = now
    for (const t of this.ingress) await t.start(now)
    this.timer = this.clock.setInterval(() => { this.tick() }, TICK_MS)
    this.timer.unref?.()
  }

  stop (): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer)
    this.timer = undefined
    for (const t of this.ingress) t.stop()
    this.egress.stop()
  }

  /** The service handler the data plane calls for packets addressed to this relay. */
  readonly handle = (h: PacketHeader, buf: Buffer): void => {
    if ((h.flags & Flag.REPLY) === 0) { this.egress.onData(h, buf); return }
    const s = this.flows.byFlow.get(h.flow)
    // A reply must come from the relay the tunnel sends to; anything else has no session here.
    if (s === undefined || s.tunnel.dst !== h.src) { this.plane.countDrop(Reason.UNKNOWN_SERVICE); return }
    s.tunnel.reply(s, buf, h.payloadLength)
  }

  /** Refills the per-source buckets; sweeps idle sessions every quarter of the idle limit (0.1-1 s). */
  tick (): void {
    const now = this.clock.monoMs()
    this.gate.refill(now - this.lastTick)
    this.lastTick = now
    for (const t of this.ingress) t.tick(now)
    this.egress.tick(now)
    const every = Math.max(TICK_MS, Math.min(1000, this.limits.idleMs / 4))
    if (now - this.lastSweep < every) return
    this.lastSweep = now
    for (const t of this.ingress) t.sweep(now)
    this.egress.sweep(now)
    this.gate.sweep(now, this.limits.idleMs)
  }
}
