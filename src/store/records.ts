import { z } from 'zod'
import { describeInvalid, linkReportEntrySchema, MAX_REPORT_LINKS, registerSchema } from '../control/messages.js'

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

export interface Skipped { field: string, reason: string }

/**
 * Parses every field of a hash keyed by relay id with `schema`. The field must be a valid relay id,
 * and equal what `fieldOf` says the value names (a record under another relay's id is corrupt too).
 */
export function parseHash<T> (hash: Record<string, string>, schema: z.ZodType<T>, fieldOf?: (v: T) => string): { values: Map<string, T>, skipped: Skipped[] } {
  const values = new Map<string, T>()
  const skipped: Skipped[] = []
  for (const [field, text] of Object.entries(hash)) {
    if (!registerSchema.shape.id.safeParse(field).success) { skipped.push({ field: field.slice(0, 80), reason: 'not a relay id' }); continue }
    let doc: unknown
    try { doc = JSON.parse(text) } catch {
      skipped.push({ field, reason: 'not JSON' })
      continue
    }
    const r = schema.safeParse(doc)
    if (!r.success) { skipped.push({ field, reason: describeInvalid(r.error) }); continue }
    if (fieldOf !== undefined && fieldOf(r.data) !== field) { skipped.push({ field, reason: `holds the record of '${fieldOf(r.data)}'` }); continue }
    values.set(field, r.data)
  }
  return { values, skipped }
}

/** The stored topology version; undefined when absent, or `corrupt` naming what was there. */
export function parseVersion (text: string | undefined): { version: number } | { corrupt: string } {
  if (text === undefined) return { version: 0 }
  return versionSchema.safeParse(text).success ? { version: Number(text) } : { corrupt: text.slice(0, 40) }
}
