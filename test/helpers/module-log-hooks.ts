/**
 * Module resolve hooks (registered by module-log.ts) that append every module URL a process loads
 * to the file named by RELAYMESH_MODULE_LOG, one per line. Tests use them to see what a daemon loaded.
 */
import { appendFileSync } from 'node:fs'

type Next = (specifier: string, context: unknown) => Promise<{ url: string }>

export async function resolve (specifier: string, context: unknown, next: Next): Promise<{ url: string }> {
  const r = await next(specifier, context)
  const file = process.env.RELAYMESH_MODULE_LOG
  if (file !== undefined) appendFileSync(file, r.url + '\n')
  return r
}
