/** Measured state of one directed link, as relays report it. Loss is a fraction from 0 to 1. */
export interface LinkMetrics {
  rttMs: number
  jitterMs: number
  loss: number
  up: boolean
}

/** Turns link metrics into a routing cost (ms-like units; lower is better; Infinity = unusable). */
export interface CostPolicy {
  readonly kind: string
  cost: (m: LinkMetrics) => number
}

/** Per-hop cost (ms) so that, all else equal, fewer relays win. */
export const HOP_COST_MS = 1
/** What a lost packet costs a real-time stream beyond a retransmission, in ms of delay. */
export const LOSS_PENALTY_MS = 100
/** Loss at or above this makes a link unusable. */
export const MAX_USABLE_LOSS = 0.9

/**
 * Expected one-way delay including recovery (docs/routing.md):
 *   cost = RTT/2 + 2·jitter + HOP_COST + p/(1−p) · (RTT + LOSS_PENALTY)
 * A packet lost with probability p is resent after about one RTT, p/(1−p) times on average; each
 * loss also costs the receiver's jitter buffer, which LOSS_PENALTY stands for.
 */
export const latencyLossPolicy: CostPolicy = {
  kind: 'latency-loss',
  cost (m) {
    if (!m.up || m.loss >= MAX_USABLE_LOSS || !Number.isFinite(m.rttMs)) return Infinity
    const p = Math.max(0, m.loss)
    return m.rttMs / 2 + 2 * m.jitterMs + HOP_COST_MS + (p / (1 - p)) * (m.rttMs + LOSS_PENALTY_MS)
  }
}

/** Every up link costs 1: fewest hops. For tests and static meshes. */
export const hopsPolicy: CostPolicy = {
  kind: 'hops',
  cost: (m) => (m.up ? 1 : Infinity)
}

const POLICIES: Record<string, CostPolicy> = { 'latency-loss': latencyLossPolicy, hops: hopsPolicy }

export function createCostPolicy (kind = 'latency-loss'): CostPolicy {
  const p = POLICIES[kind]
  if (p === undefined) throw new TypeError(`unknown cost policy '${kind}'; use one of ${Object.keys(POLICIES).join(', ')}`)
  return p
}

/**
 * Hysteresis on link costs: a link's cost in the graph moves only when the new value differs from
 * the one in force by more than both 10% and 2 ms (or crosses to or from Infinity). Routes are then
 * exact shortest paths over the filtered costs, so damping never breaks loop-freedom.
 */
export const COST_CHANGE_RATIO = 0.1
export const COST_CHANGE_MIN_MS = 2

export function materialChange (current: number, next: number): boolean {
  if (current === next) return false
  if (!Number.isFinite(current) || !Number.isFinite(next)) return true
  const d = Math.abs(next - current)
  return d > COST_CHANGE_MIN_MS && d > COST_CHANGE_RATIO * current
}
