import type { Reason } from '../../src/wire/reasons.js'

/** What tunnels need of the relay: build a packet, send it into the mesh, count a drop. */
export interface TunnelPlane {
  /** Allocates a DATA packet with its header written; the payload goes at HEADER_LENGTH. */
  begin: (dst: number, service: number, flow: number, flags: number, payloadLength: number) => Buffer
  /** Signs and routes a packet from begin(). */
  originate: (buf: Buffer) => Reason
  countDrop: (reason: Reason) => void
}

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

/**
 * Tunnel payload framing, first bytes of the mesh payload of a forward (non-REPLY) packet:
 *   byte 0     target address family: 4 or 6
 *   bytes 1-2  target UDP port, big-endian
 *   bytes 3-   target address: 4 bytes (IPv4) or 16 bytes (IPv6)
 * then the application datagram. A REPLY packet's payload is the datagram alone.
 */
export const TARGET_V4 = 4
export const TARGET_V6 = 6
