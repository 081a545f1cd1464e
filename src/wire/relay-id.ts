import { createHash } from 'node:crypto'
import { ConfigError, ErrorCode } from '../errors.js'

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/
const NUMBER_LABEL = 'relaymesh v1 relay number\0'
/** Valid ids and their numbers, remembered (relayNumber). */
const MAX_REMEMBERED_IDS = 65_536
const numbers = new Map<string, number>()

/** Throws a ConfigError unless `id` is a valid relay id: 1–63 of [A-Za-z0-9._-], starting alphanumeric. */
export function checkRelayId (id: string): void {
  if (!ID_PATTERN.test(id)) {
    throw new ConfigError(`relay id '${id}' is invalid; use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit`, ErrorCode.RELAY_ID)
  }
  if (isReservedId(id)) {
    throw new ConfigError(`relay id '${id}' is reserved (it names a built-in JavaScript property); choose another id`, ErrorCode.RELAY_ID)
  }
}

/**
 * Ids that name Object.prototype members ("constructor", "toString", …). Libraries that keep ids
 * as keys of plain objects (graphology does) misbehave on them, so the mesh refuses them outright.
 */
export function isReservedId (id: string): boolean {
  return id in Object.prototype || id === '__proto__'
}

/**
 * The 32-bit relay number carried in headers: the first four bytes (big-endian) of
 * SHA-256("relaymesh v1 relay number\0" || UTF-8 id). 0 is reserved; an id that maps to 0 is refused.
 */
export function relayNumber (id: string): number {
  const known = numbers.get(id)
  if (known !== undefined) return known
  checkRelayId(id)
  const n = createHash('sha256').update(NUMBER_LABEL).update(id, 'utf8').digest().readUInt32BE(0)
  if (n === 0) throw new ConfigError(`relay id '${id}' hashes to the reserved number 0; choose another id`, ErrorCode.RELAY_ID)
  // Hashing costs about 5 µs, and a relay numbers its whole table on every table message (1,000
  // destinations: 5 ms). Ids repeat, so the numbers are remembered, up to a bound.
  if (numbers.size >= MAX_REMEMBERED_IDS) numbers.clear()
  numbers.set(id, n)
  return n
}

/**
 * Why `id` cannot name a relay (the message checkRelayId or relayNumber would throw), or
 * undefined when it can. For input that must be skipped, not thrown: control messages.
 */
export function relayIdError (id: string): string | undefined {
  try {
    relayNumber(id)
  } catch (err) {
    return (err as Error).message
  }
  return undefined
}

/**
 * Maps ids to numbers for a whole mesh and refuses collisions, so that every relay number in a
 * header names exactly one relay.
 */
export function numberRelays (ids: Iterable<string>): Map<string, number> {
  const byId = new Map<string, number>()
  const byNumber = new Map<number, string>()
  for (const id of ids) {
    const n = relayNumber(id)
    const other = byNumber.get(n)
    if (other !== undefined && other !== id) {
      throw new ConfigError(`relay ids '${other}' and '${id}' hash to the same relay number ${n}; rename one of them`, ErrorCode.RELAY_ID)
    }
    byNumber.set(n, id)
    byId.set(id, n)
  }
  return byId
}
