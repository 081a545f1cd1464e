import { z } from 'zod'
import type { ImpairParams } from './model.js'

const fraction = z.number().min(0).max(1)

/** Validates a partial update of impairment parameters (HTTP body, scenario files). */
export const impairParamsSchema = z.object({
  loss: fraction,
  burst: z.object({ pGoodToBad: fraction, pBadToGood: fraction, lossGood: fraction.default(0), lossBad: fraction.default(1) }).nullable(),
  delayMs: z.number().min(0).max(60_000),
  jitterMs: z.number().min(0).max(60_000),
  reorder: z.boolean(),
  ratePps: z.number().min(0),
  queueLimit: z.number().int().min(1).max(1_000_000),
  outage: z.boolean()
}).partial().strict()

export function parseImpairUpdate (doc: unknown): Partial<ImpairParams> {
  const r = impairParamsSchema.safeParse(doc)
  if (!r.success) {
    const issue = r.error.issues[0]
    throw new TypeError(`${issue.path.join('.') || 'body'}: ${issue.message}`)
  }
  return r.data
}
