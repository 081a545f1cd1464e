import type { SendOptions } from '../../src/mesh/types.js'

/** Tunnel packets go best effort. One object for every send, so none is made per packet. */
export const TUNNEL_SEND: SendOptions = Object.freeze({ class: 0 })

export interface TunnelLimits {
  /** Largest UDP datagram a tunnel carries, in bytes; larger ones drop as too_big. */
  payloadBudget: number
  /** Sessions per ingress tunnel, and egress sessions per relay. */
  maxSessions: number
  /** A session idle this long is forgotten (ms). */
  idleMs: number
  /** Datagrams held per egress session while its socket connects, or queued in its send path. */
  maxQueue: number
  /**
   * Egress sessions one ingress relay may hold here, so one exposed ingress cannot take every
   * session of maxSessions; at most maxSessions whatever this says.
   */
  egressQuota: number
  /** Datagrams per second one sender address may put into this relay's tunnels; 0: no limit. */
  sourceRatePps: number
}

export const DEFAULT_TUNNEL_LIMITS: TunnelLimits = {
  payloadBudget: 1200,
  maxSessions: 4096,
  idleMs: 60_000,
  maxQueue: 256,
  egressQuota: 1024,
  // A 50 Mb/s media stream in 1,200-byte datagrams is about 5,200 pps: 20,000 leaves headroom for
  // bursts, yet one sender cannot take a relay's whole forwarding rate from the others.
  sourceRatePps: 20_000
}
