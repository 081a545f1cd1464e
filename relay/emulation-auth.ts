import { createHash, timingSafeEqual } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { ConfigError } from '../src/errors.js'
import { isLoopback } from '../src/http.js'
import { formatHostPort, type HostPort } from '../src/transport/address.js'

/** Shortest token `--emulate-links-token-file` accepts. */
export const MIN_TOKEN_CHARS = 16

/**
 * The bearer token `POST /emulation/links` must carry (`Authorization: Bearer TOKEN`). Only its
 * SHA-256 is kept, and a presented token is hashed and compared with timingSafeEqual: equal-length
 * digests, so neither the comparison's time nor an early length check says how much of a guess was
 * right.
 */
export class EmulationAuth {
  private readonly digest: Buffer

  constructor (token: string) {
    checkToken(token, 'the emulation token')
    this.digest = sha256(token)
  }

  /** Whether an Authorization header value carries the token. */
  allows (header: string | undefined): boolean {
    const m = /^Bearer +(\S+) *$/i.exec(header ?? '')
    // Hash even a missing token, so every refusal costs the same.
    return timingSafeEqual(sha256(m?.[1] ?? ''), this.digest) && m !== null
  }
}

/** Reads a token file: one line of at least 16 visible ASCII characters (`relaymesh keygen FILE` writes one). */
export async function readTokenFile (path: string, flag: string): Promise<string> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`${flag} '${path}' cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); create one with: relaymesh keygen ${path}`)
  }
  const token = text.trim()
  checkToken(token, `${flag} '${path}'`)
  return token
}

function checkToken (token: string, what: string): void {
  if (token.length < MIN_TOKEN_CHARS || !/^[\x21-\x7e]+$/.test(token)) {
    throw new ConfigError(`${what} must hold one token of at least ${MIN_TOKEN_CHARS} visible ASCII characters and no spaces; create one with: relaymesh keygen FILE`)
  }
}

function sha256 (s: string): Buffer {
  return createHash('sha256').update(s).digest()
}

/**
 * Link emulation changes what the relay does to real traffic, so it is served only where nothing
 * but this host can reach it. Throws a one-line ConfigError naming the address and the fix.
 */
export function checkEmulationHttp (addr: HostPort): void {
  if (!isLoopback(addr.host)) {
    throw new ConfigError(`--emulate-links is served only on a loopback --http, and --http is ${formatHostPort(addr)}; use --http 127.0.0.1:PORT`)
  }
}
