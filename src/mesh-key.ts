import { randomBytes } from 'node:crypto'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { ErrorCode, RelaymeshError } from './errors.js'
import type { Logger } from './logging.js'
import { MIN_MESH_KEY_BYTES } from './wire/auth.js'

/** Bytes of randomness `relaymesh keygen` writes. */
export const MESH_KEY_BYTES = 32

/** A new mesh key file's contents: one line, base64 of 32 random bytes. */
export function generateMeshKeyText (): string {
  return randomBytes(MESH_KEY_BYTES).toString('base64') + '\n'
}

/** Writes a new key file readable only by its owner; refuses to overwrite unless `force`. */
export async function writeMeshKeyFile (path: string, force = false): Promise<void> {
  try {
    await writeFile(path, generateMeshKeyText(), { mode: 0o600, flag: force ? 'w' : 'wx' })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw new RelaymeshError(ErrorCode.MESH_KEY, `key file '${path}' already exists; pass --force to replace it, or choose another path`)
    throw new RelaymeshError(ErrorCode.MESH_KEY, `cannot write key file '${path}': ${(err as Error).message}`, { cause: err })
  }
}

export function parseMeshKey (text: string, path: string): Buffer {
  const line = text.trim()
  if (line.includes('\n') || !/^[A-Za-z0-9+/]+={0,2}$/.test(line)) {
    throw new RelaymeshError(ErrorCode.MESH_KEY, `key file '${path}' is not one line of base64; create one with: relaymesh keygen ${path}`)
  }
  const key = Buffer.from(line, 'base64')
  if (key.length < MIN_MESH_KEY_BYTES) {
    throw new RelaymeshError(ErrorCode.MESH_KEY, `key file '${path}' holds ${key.length} bytes, fewer than ${MIN_MESH_KEY_BYTES}; create one with: relaymesh keygen ${path}`)
  }
  return key
}

/**
 * Reads a key file. One that group or others may read (or write) gets a warning naming it and the fix: a key
 * anyone on the host can read lets them join the mesh.
 */
export async function readMeshKeyFile (path: string, logger?: Logger): Promise<Buffer> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new RelaymeshError(ErrorCode.MESH_KEY, `cannot read key file '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; create one with: relaymesh keygen ${path}`, { cause: err })
  }
  if (logger !== undefined) await warnIfExposed(path, 'key file', logger)
  return parseMeshKey(text, path)
}

/** Logs a warning when `path` can be read or written by its group or by others (mode & 0o077). */
export async function warnIfExposed (path: string, what: string, logger: Logger): Promise<boolean> {
  let mode: number
  try { mode = (await stat(path)).mode } catch { return false }
  if ((mode & 0o077) === 0) return false
  const octal = (mode & 0o777).toString(8).padStart(4, '0')
  logger.warn({ path, mode: octal }, `${what} '${path}' can be read or changed by group or others (mode ${octal}); run: chmod 600 ${path}`)
  return true
}
