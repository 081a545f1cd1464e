import { z } from 'zod'
import { hostPortError } from '../transport/address.js'
import { relayIdError } from '../wire/relay-id.js'
import { linkFromWire } from './report-codec.js'
import { upsertsFromWire } from './table-codec.js'

/**
 * The control protocol between a relay and a controller, version 2. Messages are JSON objects
 * with a `type`, carried whole and in order by the QUIC channel (src/transport/quic) after the
 * mesh-key handshake. Both the relay and the controller import this module; neither imports the
 * other (DESIGN.md). docs/routing.md describes the exchange.
 *
 *   relay                                             controller
 *     register {id, address, boot, caps, table}  ──▶   UDP check: a nonce to `address` (address-check.ts)
 *     address {nonce}                            ──▶   the nonce back proves the address; then
 *                                                      leader: welcome, then neighbours + tables
 *                                                 ◀──  standby: welcome {role: standby}
 *                                                      a duplicate id: refuse, close
 *     report {report}                            ──▶   (every ~1 s, and at once on a change)
 *     want_keys {ids}                            ──▶   (identity mode: keys of relays it is to talk to)
 *                                                 ◀──  keys {keys, removed}   (the answer; and to every
 *                                                                  relay, what changed when the allow-list is reloaded)
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
 * Relay ids and addresses follow checkRelayId and parseHostPort exactly. The sender's own id and
 * address (register, report) must pass or the message fails; an entry of a list or table that
 * fails (a neighbour at 127.0.0.1:0, a route to '_x') is taken out and counted as skipped, and the
 * rest of the message applies (docs/routing.md).
 *
 * What makes up nearly all the bytes is compact on the wire, and parsing turns it into the
 * in-memory forms: a report's links are tuples (report-codec.ts), and routes (a table round's
 * upserts, a register's table) are grouped by next hop and backup (table-codec.ts). Version 2 (M6) brought these; a
 * report of 14 links took two QUIC packets in version 1 and takes one. A controller refuses a
 * register of another version, so relays and controllers are upgraded together.
 */
export const CONTROL_PROTOCOL_VERSION = 2

/**
 * A relay id inside a list or table: only its shape is checked here. Entries are checked one by
 * one after parsing (the clean… functions below), so one bad entry is skipped, not the message.
 */
const relayId = z.string().max(128)
/** A HOST:PORT inside a list, checked entry by entry like relayId. */
const hostPort = z.string().max(128)
/** The sender's own id: exactly what checkRelayId and relayNumber admit, or the message fails. */
const ownRelayId = relayId.superRefine((id, ctx) => {
  const err = relayIdError(id)
  if (err !== undefined) ctx.addIssue({ code: 'custom', message: `${err} (check --id)` })
})
/** The address a relay advertises: exactly what parseHostPort admits, port 0 refused. */
const advertisedAddress = hostPort.superRefine((text, ctx) => {
  const err = hostPortError(text, 'advertised address')
  if (err !== undefined) ctx.addIssue({ code: 'custom', message: `${err} (check --advertise)` })
})
const fraction = z.number().min(0).max(1)
const nonNegative = z.number().finite().min(0)
/** The sender's leadership fencing number (controller/leadership.ts); 0 from a standby. */
const fence = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
/** Entries a single table message may carry: more than any mesh we plan for, far below the frame limit. */
export const MAX_TABLE_ENTRIES = 20_000
/** Most ids one want_keys asks for. */
export const MAX_WANTED_KEYS = 256
export const MAX_REPORT_LINKS = 4_096

export const tableEntrySchema = z.object({ next_hop: relayId, backup: relayId.nullable() }).strict()
export type TableEntry = z.infer<typeof tableEntrySchema>

/**
 * Routes on the wire (a register's table, a table round's upserts): [next_hop, backup,
 * [destination, …]] per pair of next hop and backup (table-codec.ts); destination → entry once parsed.
 */
const wireRoutesSchema = z.array(z.tuple([relayId, relayId.nullable(), z.array(relayId).max(MAX_TABLE_ENTRIES)]))
  .max(MAX_TABLE_ENTRIES)
  .refine((groups) => groups.reduce((n, g) => n + g[2].length, 0) <= MAX_TABLE_ENTRIES, 'too many table entries')
  .transform(upsertsFromWire)

/** A report link as it is kept (the store's links records): the in-memory form of a wire link. */
export const linkReportEntrySchema = z.object({
  peer: relayId,
  up: z.boolean(),
  rtt_ms: nonNegative.nullable(),
  jitter_ms: nonNegative,
  loss: fraction,
  loss_short: fraction,
  samples: z.number().int().min(0)
}).strict()
export type ReportLink = z.infer<typeof linkReportEntrySchema>

/** A report link on the wire: [peer, up, rtt_ms, jitter_ms, loss, loss_short, samples]. */
const wireLinkSchema = z.tuple([relayId, z.boolean(), nonNegative.nullable(), nonNegative, fraction, fraction, z.number().int().min(0)])

export const linkReportSchema = z.object({
  relay: ownRelayId,
  seq: z.number().int().min(0),
  trigger: z.enum(['schedule', 'state', 'threshold']),
  links: z.array(wireLinkSchema).max(MAX_REPORT_LINKS).transform((links) => links.map(linkFromWire))
}).strict()
/** A link report as the controller takes it in (links as objects). */
export type ControlLinkReport = z.output<typeof linkReportSchema>
/** A link report as it is sent (links as tuples: reportToWire). */
export type WireLinkReport = z.input<typeof linkReportSchema>

// Relay → controller.

export const registerSchema = z.object({
  type: z.literal('register'),
  protocol: z.literal(CONTROL_PROTOCOL_VERSION),
  id: ownRelayId,
  /** Where other relays reach this relay's mesh socket. */
  address: advertisedAddress,
  /** Random per process start: tells a reconnect of the same process from a second claimant. */
  boot: z.string().min(8).max(64),
  caps: z.array(z.string().max(32)).max(32),
  /** The version and table the relay forwards on now, so a new leader diffs against the truth. */
  table_version: z.number().int().min(0),
  table: wireRoutesSchema
}).strict()

export const reportSchema = z.object({ type: z.literal('report'), report: linkReportSchema }).strict()

export const ackSchema = z.object({
  type: z.literal('ack'),
  version: z.number().int().min(0),
  round: z.number().int().min(0)
}).strict()

/** Identity mode: the relay asks for the public keys of these relays (answered with keys). */
export const wantKeysSchema = z.object({ type: z.literal('want_keys'), ids: z.array(relayId).min(1).max(MAX_WANTED_KEYS) }).strict()

/** The nonce of the controller's UDP address check (address-check.ts), sent back: base64 of 16 bytes. */
export const addressSchema = z.object({ type: z.literal('address'), nonce: z.string().length(24) }).strict()

export const relayMessageSchema = z.discriminatedUnion('type', [registerSchema, reportSchema, ackSchema, addressSchema, wantKeysSchema])
/** A relay's message as the controller takes it in. */
export type RelayMessage = z.output<typeof relayMessageSchema>
/** A relay's message as it is sent. */
export type RelayWireMessage = z.input<typeof relayMessageSchema>
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
 * One round of a table update. Version v's changes go out in rounds, ordered so that a relay
 * switches to a new next hop only after the relays below it on the new path have installed their
 * own new routes (topology/rollout-plan.ts, docs/routing.md). A relay that registers sends the
 * table it has, and the controller diffs against that, so no message ever replaces a whole table
 * (version 1 had a `full` flag for that, never true and never read; it is gone).
 */
export const tableMessageSchema = z.object({
  type: z.literal('table'),
  fence,
  version: z.number().int().min(1),
  round: z.number().int().min(0),
  upserts: wireRoutesSchema,
  removals: z.array(relayId).max(MAX_TABLE_ENTRIES)
}).strict()
export type TableMessage = z.output<typeof tableMessageSchema>

/**
 * Admitted relays' public keys (identity mode, docs/security.md), as upserts: `keys` lists relays
 * with their keys (the one-line `rmpub1:` form), `removed` relays no longer admitted. A relay asks
 * for the keys of the relays it is to talk to (want_keys) and gets this answer; when the allow-list
 * is reloaded, every relay gets what changed. A relay makes data-plane sessions only with relays
 * it has keys for, so one removed here is cut off on every link.
 */
export const keysSchema = z.object({
  type: z.literal('keys'),
  fence,
  keys: z.array(z.tuple([relayId, z.array(z.string().max(128)).min(1).max(8)])).max(MAX_TABLE_ENTRIES),
  removed: z.array(relayId).max(MAX_TABLE_ENTRIES)
}).strict()
export type KeysMessage = z.output<typeof keysSchema>

export const refuseSchema = z.object({ type: z.literal('refuse'), reason: z.string().max(256) }).strict()

export const controllerMessageSchema = z.discriminatedUnion('type', [welcomeSchema, roleSchema, neighboursSchema, tableMessageSchema, keysSchema, refuseSchema])
/** A controller's message as the relay takes it in. */
export type ControllerMessage = z.output<typeof controllerMessageSchema>
/** A controller's message as it is sent. */
export type ControllerWireMessage = z.input<typeof controllerMessageSchema>

/** A one-line reason for a message that failed validation, for logs and refusals. */
export function describeInvalid (err: z.ZodError): string {
  const issue = err.issues[0]
  if (issue === undefined) return 'invalid message'
  const where = issue.path.length > 0 ? issue.path.join('.') : 'message'
  return `${where}: ${issue.message}`
}

/** Entries taken out of a message because an id or address in them failed validation. */
export interface Skipped {
  count: number
  /** Why the first one failed, naming the bad value: for one log line per message. */
  first: string | undefined
}

function skip (s: Skipped, why: string): void {
  if (s.count === 0) s.first = why
  s.count++
}

function tableEntryError (dst: string, e: TableEntry): string | undefined {
  const err = relayIdError(dst) ?? relayIdError(e.next_hop) ?? (e.backup === null ? undefined : relayIdError(e.backup))
  return err === undefined ? undefined : `table entry for '${dst}': ${err}`
}

/** The table without its bad entries; the same object when none is bad. */
function cleanTable (t: Record<string, TableEntry>, s: Skipped): Record<string, TableEntry> {
  const before = s.count
  const out: Record<string, TableEntry> = {}
  for (const [dst, e] of Object.entries(t)) {
    const err = tableEntryError(dst, e)
    if (err === undefined) out[dst] = e
    else skip(s, err)
  }
  return s.count === before ? t : out
}

function cleanIds (ids: string[], what: string, s: Skipped): string[] {
  return ids.filter((id) => {
    const err = relayIdError(id)
    if (err !== undefined) skip(s, `${what}: ${err}`)
    return err === undefined
  })
}

function neighbourError (n: NeighbourEntry): string | undefined {
  const err = relayIdError(n.id) ?? hostPortError(n.address, `neighbour '${n.id}' address`)
  return err === undefined ? undefined : `neighbour entry: ${err}`
}

/** Takes bad entries out of a relay's message (its installed table, its report's links). */
function cleanRelayMessage (m: RelayMessage, s: Skipped): RelayMessage {
  if (m.type === 'register') {
    const table = cleanTable(m.table, s)
    return table === m.table ? m : { ...m, table }
  }
  if (m.type === 'report') {
    const before = s.count
    const links = m.report.links.filter((l) => {
      const err = relayIdError(l.peer)
      if (err !== undefined) skip(s, `report link: ${err}`)
      return err === undefined
    })
    return s.count === before ? m : { ...m, report: { ...m.report, links } }
  }
  return m
}

/** Takes bad entries out of a controller's message (neighbours, table upserts and removals). */
function cleanControllerMessage (m: ControllerMessage, s: Skipped): ControllerMessage {
  if (m.type === 'neighbours') {
    const before = s.count
    const neighbours = m.neighbours.filter((n) => {
      const err = neighbourError(n)
      if (err !== undefined) skip(s, err)
      return err === undefined
    })
    return s.count === before ? m : { ...m, neighbours }
  }
  if (m.type === 'table') {
    const before = s.count
    const upserts = cleanTable(m.upserts, s)
    const removals = cleanIds(m.removals, 'table removal', s)
    return s.count === before ? m : { ...m, upserts, removals }
  }
  return m
}

export type Parsed<T> = { ok: true, msg: T, skipped: Skipped } | { ok: false, reason: string }

/** Validates a relay's message; entries that fail are taken out and counted in `skipped`. */
export function parseRelayMessage (msg: unknown): Parsed<RelayMessage> {
  const r = relayMessageSchema.safeParse(msg)
  if (!r.success) return { ok: false, reason: describeInvalid(r.error) }
  const skipped: Skipped = { count: 0, first: undefined }
  return { ok: true, msg: cleanRelayMessage(r.data, skipped), skipped }
}

/** Validates a controller's message; entries that fail are taken out and counted in `skipped`. */
export function parseControllerMessage (msg: unknown): Parsed<ControllerMessage> {
  const r = controllerMessageSchema.safeParse(msg)
  if (!r.success) return { ok: false, reason: describeInvalid(r.error) }
  const skipped: Skipped = { count: 0, first: undefined }
  return { ok: true, msg: cleanControllerMessage(r.data, skipped), skipped }
}
