import type { PacketHeader } from '../src/wire/header.js'
import type { Reason } from '../src/wire/reasons.js'

/** Where a packet for one destination goes next. */
export interface NextHop {
  /** Relay id of the next hop. */
  id: string
  /** Relay number of the next hop. */
  number: number
  host: string
  port: number
}

export interface Route {
  /** Destination relay number. */
  dst: number
  nextHop: NextHop
  /** Loop-free alternate used when nextHop's link is down; undefined when none exists. */
  backup?: NextHop
}

/**
 * Receives packets addressed to this relay for one service. `buf` is the whole datagram; the
 * payload is buf[HEADER_LENGTH, HEADER_LENGTH + h.payloadLength). `h` is reused after the call
 * returns: copy what you keep.
 */
export type ServiceHandler = (h: PacketHeader, buf: Buffer) => void

/**
 * The per-packet path, behind the narrowest interface the rest of the relay needs, so that a
 * batched or native implementation can replace it without touching anything else.
 */
export interface PacketPath {
  /** Handles one datagram received on the mesh socket. */
  receive: (buf: Buffer, fromHost: string, fromPort: number) => void
  /** Signs a packet this relay originates and routes it (or delivers it locally). */
  originate: (buf: Buffer) => Reason
}

/** What the data plane needs of the mesh socket. */
export interface MeshSocket {
  send: (buf: Buffer, port: number, host: string) => void
  /** Datagrams queued in user space because the kernel buffer was full. */
  getSendQueueCount: () => number
}

/** Handles link-local packets (probes and echoes) once they passed the link's tag and window. */
export type LinkHandler = (h: PacketHeader, buf: Buffer, fromHost: string, fromPort: number) => void

export interface DataPlaneInit {
  /** This relay's number. */
  self: number
  /** This relay's boot id: random, non-zero, new at every start. */
  boot: number
  /** Milliseconds, for HELLO pacing; default Date.now. */
  nowMs?: () => number
  /** Datagrams allowed to wait in user space before the send path drops with queue_full. */
  maxSendQueue?: number
}

/** A neighbour's address, for its session's HELLOs. */
export interface NeighbourAddress { number: number, host: string, port: number }
