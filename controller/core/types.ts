import type { ControlLinkReport, TableEntry } from '../../src/control/messages.js'
import type { StoredState } from '../../src/store/records.js'
import type { NeighbourPolicy } from '../../topology/neighbours.js'
import type { RoundPart } from '../../topology/rollout-plan.js'

/** The core's timers; the shell arms one real (or virtual) timer per name and fires it back. */
export type TimerName = 'push' | 'compute' | 'settle' | 'round' | 'refresh' | 'expiry'

/** A relay's table in a register message: by destination id, or by RelayIndex number (model mode). */
export type RegisteredTable = Record<string, TableEntry> | { next: Int32Array, backup: Int32Array }

/**
 * What happens to the controller, as its shell tells the core (controller-core.ts). `conn` numbers
 * a control connection; the shell picks them, never reusing one.
 */
export type CoreEvent =
  | { type: 'start' }
  | { type: 'stop' }
  | {
    type: 'register'
    conn: number
    relay: string
    address: string
    boot: string
    caps: string[]
    tableVersion: number
    table: RegisteredTable
    /** Wall-clock ms of the registration, for the store's record. */
    wallMs: number
  }
  | { type: 'report', relay: string, report: ControlLinkReport }
  | { type: 'ack', relay: string, version: number, round: number }
  /** A table part the core asked to send could not be handed to the channel: wait no more for it. */
  | { type: 'undelivered', relay: string, version: number, round: number }
  | { type: 'disconnect', conn: number, reason: string, initiator: string }
  /**
   * These relays' keys were taken off the allow-list (docs/security.md): forget them at once, as
   * if expired, and withdraw every route to and through them. The shell closes their channels.
   */
  | { type: 'revoke', relays: string[] }
  /** This instance took the leadership lease under `fence`; the store's state follows (restored). */
  | { type: 'elected', fence: number }
  /** What the store held when elected (undefined when it could not be read). */
  | { type: 'restored', state: Omit<StoredState, 'skipped'> | undefined }
  | { type: 'deposed' }
  /** The answer to reserve-version: the store's incremented counter (0 without a store, -1 when it failed). */
  | { type: 'version', value: number }
  | { type: 'timer', timer: TimerName }

export type Role = 'leader' | 'standby'

/** What the core asks its shell to do, in order. */
export type CoreCommand =
  | { type: 'welcome', relay: string, role: Role, controller: string, fence: number }
  | { type: 'role', relay: string, role: Role, fence: number }
  | { type: 'neighbours', relay: string, fence: number, neighbours: Array<{ id: string, address: string }> }
  /** Send one round part; the shell answers with an ack (or undelivered) event. */
  | { type: 'table', relay: string, fence: number, version: number, round: number, part: RoundPart }
  /** Refuse a register message on connection `conn` (counted under `metric`) and close it. */
  | { type: 'refuse', conn: number, metric: string, reason: string }
  /** Close connection `conn`: the same relay process registered again on a newer one. */
  | { type: 'replace', conn: number, reason: string }
  /** A store write that needs no answer; `value` is a string or JSON-able. */
  | { type: 'hset', key: string, field: string, value: unknown }
  | { type: 'hdel', key: string, field: string }
  /** Increment the store's table version counter and answer with a version event. */
  | { type: 'reserve-version' }
  /** A version's rollout ended: every round acknowledged or timed out. */
  | { type: 'rollout-done', version: number }
  | { type: 'set-timer', timer: TimerName, ms: number, repeat: boolean }
  | { type: 'clear-timer', timer: TimerName }
  | { type: 'log', level: 'debug' | 'info' | 'warn', fields: Record<string, unknown>, msg: string }

/** Options of the core; docs/routing.md explains the scale ones. */
export interface CoreOptions {
  /** Names this instance in welcome messages. */
  instanceId: string
  neighbourPolicy: NeighbourPolicy
  costPolicy?: string
  /** A relay disconnected this long (ms) is forgotten. */
  relayExpiryMs: number
  /**
   * Route computations are at least this far apart (ms), and reports wait for the next one (taken
   * in as a batch, report-intake.ts). 'auto': LARGE_MESH_COMPUTE_SPACING_MS while more than
   * LARGE_MESH_RELAYS relays are known, else 0.
   */
  computeSpacingMs: number | 'auto'
  /** A batch of held reports with this many cost changes or more rebuilds routes once. */
  rebuildMinChanges: number
  /** Relay ids to number first, in this order (model mode numbers relays by its own index). */
  ids?: readonly string[]
}

/** Counters the shell may read; wall times are measured, not part of any decision. */
export interface CoreStats {
  computations: number
  versions: number
  expired: number
  /** Wall ms in route computation and diffing, in total and the last one. */
  computeWallMs: number
  lastComputeWallMs: number
}
