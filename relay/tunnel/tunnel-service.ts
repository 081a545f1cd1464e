import type { Clock, Timer } from '../../src/clock.js'
import type { Logger } from '../../src/logging.js'
import type { MeshDelivery } from '../../src/mesh/delivery.js'
import type { Mesh } from '../../src/mesh/types.js'
import { Service } from '../../src/wire/constants.js'
import { Reason } from '../../src/wire/reasons.js'
import { EgressPolicy } from './egress-policy.js'
import { TunnelEgress } from './egress.js'
import { FrameKind, MAX_FRAME_HEAD, parseFrame, TunnelFrame } from './framing.js'
import { FlowTable, TunnelIngress } from './ingress.js'
import { SourceGate } from './source-gate.js'
import type { TunnelSpec } from './spec.js'
import { DEFAULT_TUNNEL_LIMITS, type TunnelLimits } from './types.js'

/** How often token buckets are refilled (and the clock read for lastSeen). */
const TICK_MS = 100

export interface TunnelServiceComponents {
  /** The only part of the relay tunnels see (docs/mesh-service.md). */
  mesh: Mesh
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

/**
 * The relay's tunnel service (service id 1): every ingress tunnel plus the egress end. A hosted
 * service like any other: it reaches the mesh only through the Mesh it is given, so it runs the
 * same on a relay and on the in-memory network of the unit tests.
 */
export class TunnelService {
  readonly ingress: TunnelIngress[]
  readonly egress: TunnelEgress
  readonly gate: SourceGate
  private readonly flows = new FlowTable()
  private readonly clock: Clock
  private readonly mesh: Mesh
  private readonly limits: TunnelLimits
  /** The frame of the packet being handled; reused for every packet. */
  private readonly frame = new TunnelFrame()
  private unregister: (() => void) | undefined
  private timer: Timer | undefined
  private lastTick = 0
  private lastSweep = 0

  constructor (components: TunnelServiceComponents, init: TunnelServiceInit) {
    this.clock = components.clock
    this.mesh = components.mesh
    this.limits = { ...DEFAULT_TUNNEL_LIMITS, ...init.limits }
    if (this.limits.payloadBudget + MAX_FRAME_HEAD > this.mesh.maxPayload) {
      throw new TypeError(`tunnel payload budget ${this.limits.payloadBudget} leaves no room for the ${MAX_FRAME_HEAD}-byte framing in the mesh's ${this.mesh.maxPayload}-byte payload`)
    }
    const logger = components.logger.child({ component: 'tunnel' })
    this.gate = new SourceGate({ mesh: this.mesh }, { allow: init.allowSource, ratePps: this.limits.sourceRatePps, maxSources: this.limits.maxSessions })
    this.ingress = init.tunnels.map((t) => new TunnelIngress({ mesh: this.mesh, flows: this.flows, gate: this.gate, logger }, t.spec, t.dst, this.limits))
    this.egress = new TunnelEgress({ mesh: this.mesh, logger }, new EgressPolicy(init.egressAllow), this.limits)
    this.unregister = this.mesh.register(Service.TUNNEL, this.handle)
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
    this.unregister?.()
    this.unregister = undefined
    for (const t of this.ingress) t.stop()
    this.egress.stop()
  }

  /** The handler of service 1: what the mesh delivers to this relay for tunnels. */
  readonly handle = (d: MeshDelivery): void => {
    const f = this.frame
    if (!parseFrame(d.buf, d.offset, d.length, f)) { this.mesh.countDrop(Reason.MALFORMED); return }
    if (f.kind !== FrameKind.REPLY) { this.egress.onData(d, f); return }
    const s = this.flows.byFlow.get(d.flow)
    // A reply must come from the relay the tunnel sends to; anything else has no session here.
    if (s === undefined || s.tunnel.dst !== d.src) { this.mesh.countDrop(Reason.UNKNOWN_SERVICE); return }
    s.tunnel.reply(s, d.buf, f.dataOff, f.dataLen)
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
