import type { SendOptions } from '../../src/mesh/types.js'

/**
 * Send options per traffic class (0 bulk … 3 signaling), one object each, so none is made per
 * packet. A tunnel sends in the class of its --tunnel spec (bulk by default); an egress answers
 * in the class the ingress sent with.
 */
export const TUNNEL_SEND: readonly SendOptions[] = Object.freeze([0, 1, 2, 3].map((c) => Object.freeze({ class: c })))

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
