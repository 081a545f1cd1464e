import type { Reason } from '../wire/reasons.js'
import type { MeshDelivery } from './delivery.js'

/**
 * The mesh as a hosted service sees it (docs/mesh-service.md): send a payload to relay X for
 * service S, receive what arrives for S, and know which relays are live. Tunnels, signaling and the
 * SFU use only this; the relay daemon implements it (relay/mesh-endpoint.ts), and
 * src/mesh/memory-network.ts implements it in memory for unit tests.
 */
export interface Mesh {
  /** This relay. */
  readonly self: MeshRelay
  /** The largest payload send() carries, in bytes; a larger one is dropped as too_big. */
  readonly maxPayload: number
  /** The relays this one can reach now, versioned, with change events. */
  readonly relays: LiveRelays
  /**
   * Sends `payload` to service `service` at relay number `dst` (this relay included). Returns
   * Reason.OK or why the packet was dropped (counted under relaymesh_packets_dropped_total). The
   * payload is copied before send() returns, so its buffers may be reused at once. Throws
   * TypeError for a bad service or class, UnsupportedError for an option the transport lacks.
   */
  send: (dst: number, service: number, flow: number, payload: MeshPayload, opts: SendOptions) => Reason
  /**
   * Delivers every packet that arrives for `service` to `handler`, until the returned function is
   * called. One handler per service; a second register() of the same service throws TypeError.
   */
  register: (service: number, handler: MeshHandler) => () => void
  /** Counts a drop the service decided itself (a refused sender, bad framing). */
  countDrop: (reason: Reason) => void
}

/**
 * One buffer, or a list of parts sent as their concatenation (as node:dgram's send takes them), so
 * a service can put its own framing in front of a datagram without building a new buffer.
 */
export type MeshPayload = Uint8Array | readonly Uint8Array[]

/**
 * Options of one send. Pass one object kept for the purpose, not a new literal per packet, on a
 * per-packet path.
 */
export interface SendOptions {
  /** Traffic class 0-255, carried end to end: 0 is best effort, higher is more urgent. */
  class: number
  /** Send copies over disjoint paths (M8). Not supported yet: true throws UnsupportedError. */
  redundant?: boolean
  /**
   * The payload is already encrypted end to end by the service, so the mesh skips its payload
   * AEAD (never the per-link tag). Only services from Service.USER_MIN up; the mesh's own services
   * are always sealed, and a TypeError says so.
   */
  preEncrypted?: boolean
}

/**
 * Receives what arrives for one service. `d` is one object the mesh reuses for every packet: read
 * its fields during the call, and copy the ones you keep. The bytes of d.buf are another matter:
 * the mesh never reuses or changes a delivered packet's buffer, so a handler may keep a view of
 * the payload (queue it, hand it to an asynchronous socket send) without copying it.
 */
export type MeshHandler = (d: MeshDelivery) => void

/** A relay as hosted services name it: its string id and the 32-bit number the header carries. */
export interface MeshRelay {
  readonly id: string
  readonly number: number
}

export interface RelaySetChange {
  /** The set's version after the change. */
  version: number
  added: readonly MeshRelay[]
  removed: readonly MeshRelay[]
}

export interface RelaySetEvents {
  change: [RelaySetChange]
}

/**
 * The live relay set: this relay and every relay it has a route to (the controller's tables, or
 * the static mesh file). The version goes up by one at each change, and only then.
 */
export interface LiveRelays {
  readonly version: number
  readonly size: number
  /** Every live relay, sorted by id. */
  list: () => readonly MeshRelay[]
  has: (number: number) => boolean
  /** By relay number, as MeshDelivery.src gives it. */
  get: (number: number) => MeshRelay | undefined
  byId: (id: string) => MeshRelay | undefined
  /** Calls `fn` after each change; returns a function that stops the calls. */
  onChange: (fn: (change: RelaySetChange) => void) => () => void
}
