import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { ErrorCode, RelaymeshError } from './errors.js'
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

export async function readMeshKeyFile (path: string): Promise<Buffer> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new RelaymeshError(ErrorCode.MESH_KEY, `cannot read key file '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; create one with: relaymesh keygen ${path}`, { cause: err })
  }
  return parseMeshKey(text, path)
}
