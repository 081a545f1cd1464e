import { BlockList } from 'node:net'
import { ConfigError } from '../../src/errors.js'
import { Reason } from '../../src/wire/reasons.js'
import { addCidr, listHas, parseCidr, unmapHost } from './ip.js'
import type { Mesh } from '../../src/mesh/types.js'

/** The default --tunnel-allow-source: loopback, so only applications on this host use the tunnels. */
export const DEFAULT_TUNNEL_ALLOW_SOURCE = ['127.0.0.0/8', '::1/128']

/** How many refused sender addresses are remembered, so a refused flood costs one Map lookup. */
const MAX_REFUSED = 1024

/** Parses --tunnel-allow-source CIDRs into a list; a bad one is a ConfigError naming it. */
export function allowSourceList (texts: string[] = DEFAULT_TUNNEL_ALLOW_SOURCE): BlockList {
  const list = new BlockList()
  for (const text of texts) {
    const c = parseCidr(text)
    if (typeof c === 'string') throw new ConfigError(`--tunnel-allow-source '${text}' ${c}; use a CIDR such as 127.0.0.0/8, 10.1.0.0/16 or ::1/128`)
    addCidr(list, c)
  }
  return list
}

/** One sender address as the tunnel ingress sees it: admitted, with a token bucket. */
export interface TunnelSource {
  readonly host: string
  /** Datagrams it may still send before the next refill. */
  tokens: number
  /** Ingress sessions (sender ports, across all tunnels) that hold this source. */
  sessions: number
  lastSeen: number
}

export interface SourceGateInit {
  /** --tunnel-allow-source CIDRs. */
  allow?: string[]
  /** Token refill per second; burst is one second's worth. 0 turns the limit off. */
  ratePps: number
  /** Admitted sender addresses tracked at once; more are dropped as queue_full. */
  maxSources: number
}

/**
 * Who may put datagrams into this relay's tunnels, and how fast. The address check runs once per
 * sender address (refused ones are remembered); the per-packet cost is one token taken from an
 * object the session already holds. Buckets are refilled by the tunnel service's timer, not by
 * reading the clock per packet.
 */
export class SourceGate {
  private readonly mesh: Pick<Mesh, 'countDrop'>
  private readonly list: BlockList
  private readonly rate: number
  private readonly maxSources: number
  private readonly admitted = new Map<string, TunnelSource>()
  private readonly refused = new Map<string, number>()

  constructor (components: { mesh: Pick<Mesh, 'countDrop'> }, init: SourceGateInit) {
    this.mesh = components.mesh
    this.rate = init.ratePps
    this.maxSources = init.maxSources
    this.list = allowSourceList(init.allow)
  }

  get size (): number { return this.admitted.size }

  /**
   * The source for a new session from `host`, or undefined when it is refused (egress_denied: the
   * tunnel policy refused it) or no more sources fit (queue_full). Not for every packet.
   */
  open (host: string, nowMs: number): TunnelSource | undefined {
    let s = this.admitted.get(host)
    if (s !== undefined) return s
    if (this.refused.has(host)) { this.refuse(host, nowMs); return undefined }
    const a = unmapHost(host)
    if (a === undefined || !listHas(this.list, a)) { this.refuse(host, nowMs); return undefined }
    if (this.admitted.size >= this.maxSources) { this.mesh.countDrop(Reason.QUEUE_FULL); return undefined }
    s = { host, tokens: this.rate, sessions: 0, lastSeen: nowMs }
    this.admitted.set(host, s)
    return s
  }

  /** Takes one datagram's token; false (counted as queue_full) when the source is over its rate. */
  take (s: TunnelSource): boolean {
    if (this.rate === 0) return true
    if (s.tokens < 1) { this.mesh.countDrop(Reason.QUEUE_FULL); return false }
    s.tokens--
    return true
  }

  /** Adds `elapsedMs` worth of tokens to every bucket, up to one second's worth. */
  refill (elapsedMs: number): void {
    if (this.rate === 0) return
    const add = this.rate * elapsedMs / 1000
    const cap = this.rate
    for (const s of this.admitted.values()) s.tokens = Math.min(cap, s.tokens + add)
  }

  /** Forgets sources with no session that sent nothing for `idleMs`, and old refusals. */
  sweep (nowMs: number, idleMs: number): void {
    for (const [host, s] of this.admitted) if (s.sessions === 0 && nowMs - s.lastSeen > idleMs) this.admitted.delete(host)
    for (const [host, at] of this.refused) if (nowMs - at > idleMs) this.refused.delete(host)
  }

  private refuse (host: string, nowMs: number): void {
    this.mesh.countDrop(Reason.EGRESS_DENIED)
    if (this.refused.has(host) || this.refused.size < MAX_REFUSED) this.refused.set(host, nowMs)
  }
}
