import type { Clock } from '../../src/clock.js'
import type { Logger } from '../../src/logging.js'
import { Flag } from '../../src/wire/constants.js'
import type { PacketHeader } from '../../src/wire/header.js'
import { Reason } from '../../src/wire/reasons.js'
import type { Timer } from '../../src/clock.js'
import { EgressPolicy } from './egress-policy.js'
import { TunnelEgress } from './egress.js'
import { FlowTable, TunnelIngress } from './ingress.js'
import type { TunnelSpec } from './spec.js'
import { DEFAULT_TUNNEL_LIMITS, type TunnelLimits, type TunnelPlane } from './types.js'

export interface TunnelServiceComponents {
  plane: TunnelPlane
  clock: Clock
  logger: Logger
}

export interface TunnelServiceInit {
  tunnels: Array<{ spec: TunnelSpec, dst: number }>
  egressAllow?: string[]
  limits?: Partial<TunnelLimits>
}

/** The relay's tunnel service (service id 1): every ingress tunnel plus the egress end. */
export class TunnelService {
  readonly ingress: TunnelIngress[]
  readonly egress: TunnelEgress
  private readonly flows = new FlowTable()
  private readonly clock: Clock
  private readonly plane: TunnelPlane
  private readonly limits: TunnelLimits
  private sweeper: Timer | undefined

  constructor (components: TunnelServiceComponents, init: TunnelServiceInit) {
    this.clock = components.clock
    this.plane = components.plane
    this.limits = { ...DEFAULT_TUNNEL_LIMITS, ...init.limits }
    const logger = components.logger.child({ component: 'tunnel' })
    this.ingress = init.tunnels.map((t) => new TunnelIngress({ plane: this.plane, flows: this.flows, logger }, t.spec, t.dst, this.limits))
    this.egress = new TunnelEgress({ plane: this.plane, logger }, new EgressPolicy(init.egressAllow), this.limits)
  }

  async start (): Promise<void> {
    const now = this.clock.monoMs()
    for (const t of this.ingress) await t.start(now)
    const every = Math.max(100, Math.min(1000, this.limits.idleMs / 4))
    this.sweeper = this.clock.setInterval(() => { this.sweep() }, every)
    this.sweeper.unref?.()
  }

  stop (): void {
    if (this.sweeper !== undefined) this.clock.clearTimer(this.sweeper)
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

  private sweep (): void {
    const now = this.clock.monoMs()
    for (const t of this.ingress) t.sweep(now)
    this.egress.sweep(now)
  }
}
