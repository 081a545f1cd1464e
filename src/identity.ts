import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { ErrorCode, RelaymeshError } from './errors.js'
import type { Logger } from './logging.js'
import { warnIfExposed } from './mesh-key.js'
import { checkRelayId } from './wire/relay-id.js'

/**
 * Relay and controller identities (docs/security.md): an Ed25519 key that signs, and an X25519
 * key for key agreement, each 32 bytes raw.
 *
 *   identity file (secret, mode 0600): one line, `rmid1:` + base64 of the two private keys
 *                                      (Ed25519 seed, then X25519 private key: 64 bytes)
 *   public key:                        one line, `rmpub1:` + base64 of the two public keys
 *                                      (Ed25519, then X25519: 64 bytes)
 *
 * Both are one line, so that a public key can be pasted into an allow-list or a static mesh file.
 */
export const IDENTITY_PREFIX = 'rmid1:'
export const PUBLIC_KEY_PREFIX = 'rmpub1:'
const RAW = 32

/** DER prefixes of PKCS#8 private keys and SPKI public keys holding one 32-byte raw key (RFC 8410). */
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex')
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex')
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex')
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex')

/** Someone's public keys, as an allow-list, a static mesh file or a pinned controller gives them. */
export class PublicIdentity {
  readonly signKey: KeyObject
  readonly dhKey: KeyObject

  constructor (readonly sign: Buffer, readonly dh: Buffer) {
    this.signKey = createPublicKey({ key: Buffer.concat([ED25519_SPKI, sign]), format: 'der', type: 'spki' })
    this.dhKey = createPublicKey({ key: Buffer.concat([X25519_SPKI, dh]), format: 'der', type: 'spki' })
  }

  /** The one-line form: `rmpub1:` + base64. */
  get text (): string { return PUBLIC_KEY_PREFIX + Buffer.concat([this.sign, this.dh]).toString('base64') }

  equals (other: PublicIdentity): boolean { return this.sign.equals(other.sign) && this.dh.equals(other.dh) }

  /** Whether `signature` is this identity's Ed25519 signature of `data`. */
  verify (data: Buffer, signature: Buffer): boolean {
    return signature.length === 64 && verify(null, data, this.signKey, signature)
  }
}

/** One's own keys: signs, and agrees keys with others' public keys. */
export class Identity {
  readonly public: PublicIdentity
  private readonly signPriv: KeyObject
  private readonly dhPriv: KeyObject

  constructor (private readonly seed: Buffer, private readonly dhRaw: Buffer) {
    this.signPriv = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, seed]), format: 'der', type: 'pkcs8' })
    this.dhPriv = createPrivateKey({ key: Buffer.concat([X25519_PKCS8, dhRaw]), format: 'der', type: 'pkcs8' })
    this.public = new PublicIdentity(rawPublic(this.signPriv, ED25519_SPKI), rawPublic(this.dhPriv, X25519_SPKI))
  }

  static generate (): Identity {
    const s = generateKeyPairSync('ed25519').privateKey
    const d = generateKeyPairSync('x25519').privateKey
    return new Identity(rawPrivate(s, ED25519_PKCS8), rawPrivate(d, X25519_PKCS8))
  }

  /** The identity file's one line (secret). */
  get text (): string { return IDENTITY_PREFIX + Buffer.concat([this.seed, this.dhRaw]).toString('base64') }

  sign (data: Buffer): Buffer { return sign(null, data, this.signPriv) }

  /** The X25519 shared secret with `peer` (the same at both ends). */
  agree (peer: PublicIdentity): Buffer { return diffieHellman({ privateKey: this.dhPriv, publicKey: peer.dhKey }) }
}

function rawPrivate (k: KeyObject, prefix: Buffer): Buffer {
  const der = k.export({ format: 'der', type: 'pkcs8' })
  return Buffer.from(der.subarray(prefix.length))
}

function rawPublic (k: KeyObject, prefix: Buffer): Buffer {
  const der = createPublicKey(k).export({ format: 'der', type: 'spki' })
  return Buffer.from(der.subarray(prefix.length))
}

function base64Body (line: string, prefix: string, bytes: number): Buffer | undefined {
  if (!line.startsWith(prefix)) return undefined
  const body = line.slice(prefix.length)
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return undefined
  const raw = Buffer.from(body, 'base64')
  return raw.length === bytes ? raw : undefined
}

/** Parses an identity file's text; `path` names it in errors. */
export function parseIdentity (text: string, path: string): Identity {
  const raw = base64Body(text.trim(), IDENTITY_PREFIX, 2 * RAW)
  if (raw === undefined) {
    throw new RelaymeshError(ErrorCode.IDENTITY, `identity file '${path}' is not one '${IDENTITY_PREFIX}' line of ${2 * RAW} base64 bytes; create one with: relaymesh keygen --identity ${path}`)
  }
  return new Identity(raw.subarray(0, RAW), raw.subarray(RAW))
}

/** Parses a public key line (`rmpub1:…`); `where` names its place in errors. */
export function parsePublicKey (text: string, where: string): PublicIdentity {
  const raw = base64Body(text.trim(), PUBLIC_KEY_PREFIX, 2 * RAW)
  if (raw === undefined) {
    throw new RelaymeshError(ErrorCode.IDENTITY, `${where}: '${text.trim().slice(0, 80)}' is not a public key ('${PUBLIC_KEY_PREFIX}' and ${2 * RAW} base64 bytes); relaymesh keygen --identity FILE writes one to FILE.pub`)
  }
  try {
    return new PublicIdentity(Buffer.from(raw.subarray(0, RAW)), Buffer.from(raw.subarray(RAW)))
  } catch (err) {
    throw new RelaymeshError(ErrorCode.IDENTITY, `${where}: '${text.trim().slice(0, 80)}' holds no valid Ed25519 and X25519 public keys`, { cause: err })
  }
}

/**
 * Writes a new identity: `path` (secret, mode 0600) and `path.pub` (its public key line). Refuses
 * to overwrite either unless `force`. Returns the public key line.
 */
export async function writeIdentityFiles (path: string, force = false): Promise<string> {
  const id = Identity.generate()
  const flag = force ? 'w' : 'wx'
  for (const [file, text, mode] of [[path, id.text, 0o600], [`${path}.pub`, id.public.text, 0o644]] as const) {
    try {
      await writeFile(file, text + '\n', { mode, flag })
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EEXIST') throw new RelaymeshError(ErrorCode.IDENTITY, `'${file}' already exists; pass --force to replace it, or choose another path`)
      throw new RelaymeshError(ErrorCode.IDENTITY, `cannot write '${file}': ${(err as Error).message}`, { cause: err })
    }
  }
  return id.public.text
}

/** Reads an identity file, warning (via `logger`) when group or others can read it. */
export async function readIdentityFile (path: string, logger?: Logger): Promise<Identity> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new RelaymeshError(ErrorCode.IDENTITY, `cannot read identity file '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; create one with: relaymesh keygen --identity ${path}`, { cause: err })
  }
  if (logger !== undefined) await warnIfExposed(path, 'identity file', logger)
  return parseIdentity(text, path)
}

/**
 * Parses an allow-list of relay keys: one `RELAY_ID rmpub1:… [rmpub1:…]` per line; blank lines and
 * lines starting with '#' are skipped. A relay may have two keys or more while it rotates (docs/
 * security.md): any of them gets it in. A relay id listed on two lines, or a key listed twice, is
 * refused: one key speaks for one relay.
 */
export function parseAllowList (text: string, path: string): Map<string, PublicIdentity[]> {
  const out = new Map<string, PublicIdentity[]>()
  const keys = new Map<string, string>()
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const where = `${path}:${i + 1}`
    const parts = line.split(/\s+/)
    if (parts.length < 2) throw new RelaymeshError(ErrorCode.IDENTITY, `${where}: expected 'RELAY_ID ${PUBLIC_KEY_PREFIX}… [${PUBLIC_KEY_PREFIX}…]', got '${line.slice(0, 80)}'`)
    const [id, ...texts] = parts
    try {
      checkRelayId(id)
    } catch (err) {
      throw new RelaymeshError(ErrorCode.IDENTITY, `${where}: ${(err as Error).message}`, { cause: err })
    }
    if (out.has(id)) throw new RelaymeshError(ErrorCode.IDENTITY, `${where}: relay '${id}' is listed twice; keep one line per relay (several keys go on that line)`)
    const pubs: PublicIdentity[] = []
    for (const t of texts) {
      const pub = parsePublicKey(t, where)
      const other = keys.get(pub.text)
      if (other !== undefined) throw new RelaymeshError(ErrorCode.IDENTITY, `${where}: this key is already relay '${other}'s; each relay needs its own (relaymesh keygen --identity FILE)`)
      keys.set(pub.text, id)
      pubs.push(pub)
    }
    out.set(id, pubs)
  }
  return out
}

/** Reads an allow-list file (parseAllowList). */
export async function readAllowListFile (path: string): Promise<Map<string, PublicIdentity[]>> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new RelaymeshError(ErrorCode.IDENTITY, `cannot read the allow-list of relay keys '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err })
  }
  return parseAllowList(text, path)
}
