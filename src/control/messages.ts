import { z } from 'zod'
import { isReservedId } from '../wire/relay-id.js'

/**
 * The control protocol between a relay and a controller, version 1. Messages are JSON objects
 * with a `type`, carried whole and in order by the QUIC channel (src/transport/quic) after the
 * mesh-key handshake. Both the relay and the controller import this module; neither imports the
 * other (DESIGN.md). docs/routing.md describes the exchange.
 *
 *   relay                                             controller
 *     register {id, address, boot, caps, table}  ──▶   leader: welcome, then neighbours + tables
 *                                                 ◀──  standby: welcome {role: standby}
 *                                                      a duplicate id: refuse, close
 *     report {report}                            ──▶   (every ~1 s, and at once on a change)
 *                                                 ◀──  neighbours {neighbours}
 *                                                 ◀──  table {version, round, upserts, removals}
 *     ack {version, round}                       ──▶   (after the round is installed)
 *                                                 ◀──  role {role}   (a standby became leader)
 *
 * Every controller message but refuse carries `fence`, the fencing number of the leadership lease
 * its sender holds (0 from a standby). A relay ignores a leader's word with a lower fence than it
 * has seen, so a deposed leader that has not noticed yet cannot have its tables applied.
 *
 * Every message from the other side is validated here before anything acts on it; one that fails
 * is refused with a reason and the channel is closed, so one bad peer costs only its own channel.
 */
export const CONTROL_PROTOCOL_VERSION = 1

/** Relay ids, as checkRelayId admits them (src/wire/relay-id.ts). */
const relayId = z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/).refine((id) => !isReservedId(id), 'reserved relay id')
/** HOST:PORT with an IPv4 literal or a bracketed IPv6 literal. */
const hostPort = z.string().min(3).max(64).regex(/^(\d{1,3}(\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/)
const fraction = z.number().min(0).max(1)
const nonNegative = z.number().finite().min(0)
/** The sender's leadership fencing number (controller/leadership.ts); 0 from a standby. */
const fence = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
/** Entries a single table message may carry: more than any mesh we plan for, far below the frame limit. */
export const MAX_TABLE_ENTRIES = 20_000
export const MAX_REPORT_LINKS = 4_096

export const tableEntrySchema = z.object({ next_hop: relayId, backup: relayId.nullable() }).strict()
export type TableEntry = z.infer<typeof tableEntrySchema>

const tableSchema = z.record(relayId, tableEntrySchema).refine((t) => Object.keys(t).length <= MAX_TABLE_ENTRIES, 'too many table entries')

export const linkReportEntrySchema = z.object({
  peer: relayId,
  up: z.boolean(),
  rtt_ms: nonNegative.nullable(),
  jitter_ms: nonNegative,
  loss: fraction,
  loss_short: fraction,
  samples: z.number().int().min(0)
}).strict()

export const linkReportSchema = z.object({
  relay: relayId,
  seq: z.number().int().min(0),
  trigger: z.enum(['schedule', 'state', 'threshold']),
  links: z.array(linkReportEntrySchema).max(MAX_REPORT_LINKS)
}).strict()
export type ControlLinkReport = z.infer<typeof linkReportSchema>

// Relay → controller.

export const registerSchema = z.object({
  type: z.literal('register'),
  protocol: z.literal(CONTROL_PROTOCOL_VERSION),
  id: relayId,
  /** Where other relays reach this relay's mesh socket. */
  address: hostPort,
  /** Random per process start: tells a reconnect of the same process from a second claimant. */
  boot: z.string().min(8).max(64),
  caps: z.array(z.string().max(32)).max(32),
  /** The version and table the relay forwards on now, so a new leader diffs against the truth. */
  table_version: z.number().int().min(0),
  table: tableSchema
}).strict()

export const reportSchema = z.object({ type: z.literal('report'), report: linkReportSchema }).strict()

export const ackSchema = z.object({
  type: z.literal('ack'),
  version: z.number().int().min(0),
  round: z.number().int().min(0)
}).strict()

export const relayMessageSchema = z.discriminatedUnion('type', [registerSchema, reportSchema, ackSchema])
export type RelayMessage = z.infer<typeof relayMessageSchema>
export type RegisterMessage = z.infer<typeof registerSchema>

// Controller → relay.

export const welcomeSchema = z.object({
  type: z.literal('welcome'),
  role: z.enum(['leader', 'standby']),
  /** Names the controller instance in relay logs. */
  controller: z.string().max(128),
  fence
}).strict()

export const roleSchema = z.object({ type: z.literal('role'), role: z.enum(['leader', 'standby']), fence }).strict()

export const neighbourSchema = z.object({ id: relayId, address: hostPort }).strict()
export type NeighbourEntry = z.infer<typeof neighbourSchema>

export const neighboursSchema = z.object({
  type: z.literal('neighbours'),
  fence,
  neighbours: z.array(neighbourSchema).max(MAX_REPORT_LINKS)
}).strict()

/**
 * One round of a table update. Version v's changes go out in rounds: round r holds the entries
 * whose new path has r hops, so a relay switches to a new next hop only after that next hop has
 * installed its own new route (docs/routing.md). `full` replaces the whole table (round 0).
 */
export const tableMessageSchema = z.object({
  type: z.literal('table'),
  fence,
  version: z.number().int().min(1),
  round: z.number().int().min(0),
  full: z.boolean(),
  upserts: tableSchema,
  removals: z.array(relayId).max(MAX_TABLE_ENTRIES)
}).strict()
export type TableMessage = z.infer<typeof tableMessageSchema>

export const refuseSchema = z.object({ type: z.literal('refuse'), reason: z.string().max(256) }).strict()

export const controllerMessageSchema = z.discriminatedUnion('type', [welcomeSchema, roleSchema, neighboursSchema, tableMessageSchema, refuseSchema])
export type ControllerMessage = z.infer<typeof controllerMessageSchema>

/** A one-line reason for a message that failed validation, for logs and refusals. */
export function describeInvalid (err: z.ZodError): string {
  const issue = err.issues[0]
  if (issue === undefined) return 'invalid message'
  const where = issue.path.length > 0 ? issue.path.join('.') : 'message'
  return `${where}: ${issue.message}`
}

export function parseRelayMessage (msg: unknown): { ok: true, msg: RelayMessage } | { ok: false, reason: string } {
  const r = relayMessageSchema.safeParse(msg)
  return r.success ? { ok: true, msg: r.data } : { ok: false, reason: describeInvalid(r.error) }
}

export function parseControllerMessage (msg: unknown): { ok: true, msg: ControllerMessage } | { ok: false, reason: string } {
  const r = controllerMessageSchema.safeParse(msg)
  return r.success ? { ok: true, msg: r.data } : { ok: false, reason: describeInvalid(r.error) }
}
