import { z } from 'zod'
import { describeInvalid, linkReportEntrySchema, MAX_REPORT_LINKS, registerSchema } from '../control/messages.js'
import { Keys } from './keys.js'
import type { Store } from './types.js'

/**
 * What the controller reads back from the store, validated as strictly as the control messages
 * it came from (src/control/messages.ts): a value another writer or a bug left corrupt in Redis is
 * skipped with a reason, never thrown into the controller's graph or registry.
 */

/** Keys.relays field value. */
export const relayRecordSchema = z.object({
  id: registerSchema.shape.id,
  address: registerSchema.shape.address,
  caps: registerSchema.shape.caps.optional(),
  registeredAt: z.number().finite().optional()
}).strip()
export type RelayRecord = z.infer<typeof relayRecordSchema>

/** Keys.links field value: the link entries of that relay's last report. */
export const linksRecordSchema = z.array(linkReportEntrySchema).max(MAX_REPORT_LINKS)
export type LinksRecord = z.infer<typeof linksRecordSchema>

/** Keys.topologyVersion. */
const versionSchema = z.string().regex(/^\d{1,15}$/)

export interface Skipped { key: string, field: string, reason: string }

/**
 * Parses every field of a hash keyed by relay id with `schema`. The field must be a valid relay id,
 * and equal what `fieldOf` says the value names (a record under another relay's id is corrupt too).
 */
export function parseHash<T> (key: string, hash: Record<string, string>, schema: z.ZodType<T>, fieldOf?: (v: T) => string): { values: Map<string, T>, skipped: Skipped[] } {
  const values = new Map<string, T>()
  const skipped: Skipped[] = []
  for (const [field, text] of Object.entries(hash)) {
    if (!registerSchema.shape.id.safeParse(field).success) { skipped.push({ key, field: field.slice(0, 80), reason: 'not a relay id' }); continue }
    let doc: unknown
    try { doc = JSON.parse(text) } catch {
      skipped.push({ key, field, reason: 'not JSON' })
      continue
    }
    const r = schema.safeParse(doc)
    if (!r.success) { skipped.push({ key, field, reason: describeInvalid(r.error) }); continue }
    if (fieldOf !== undefined && fieldOf(r.data) !== field) { skipped.push({ key, field, reason: `holds the record of '${fieldOf(r.data)}'` }); continue }
    values.set(field, r.data)
  }
  return { values, skipped }
}

/** What a leader recovers from the store (Controller.loadFromStore), every value validated. */
export interface StoredState {
  relays: Map<string, RelayRecord>
  links: Map<string, LinksRecord>
  version: number
  /** Corrupt values, left out of the above. */
  skipped: Skipped[]
}

export async function loadStoredState (store: Store): Promise<StoredState> {
  const [relayHash, linkHash, versionText] = await Promise.all([
    store.hgetall(Keys.relays), store.hgetall(Keys.links), store.get(Keys.topologyVersion)
  ])
  const relays = parseHash(Keys.relays, relayHash, relayRecordSchema, (r) => r.id)
  const links = parseHash(Keys.links, linkHash, linksRecordSchema)
  const skipped = [...relays.skipped, ...links.skipped]
  let version = 0
  if (versionText !== undefined) {
    if (versionSchema.safeParse(versionText).success) version = Number(versionText)
    else skipped.push({ key: Keys.topologyVersion, field: '', reason: `not a version: '${versionText.slice(0, 40)}'` })
  }
  return { relays: relays.values, links: links.values, version, skipped }
}
