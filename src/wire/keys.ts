import { hkdfSync } from 'node:crypto'
import type { Identity, PublicIdentity } from '../identity.js'
import { MIN_MESH_KEY_BYTES } from './auth.js'
import { sipKeyFromBytes, type SipKey } from './siphash.js'
import { payloadKey, type PayloadKey } from './seal.js'

/**
 * Where every wire v2 key comes from (docs/security.md, "Keys"). Each pair of relays shares one
 * 32-byte pair secret: with identities, HKDF of their X25519 agreement; with a shared mesh key,
 * HKDF of that key (every holder can then pose as any relay: the mesh key is the trust-everyone
 * mode, kept for a mesh inside one trust domain). From the pair secret and the two boot ids come a
 * link key per direction (SipHash, the per-hop tag) and a payload key per direction (AES-128-GCM).
 */
export interface KeyBook {
  /**
   * The pair secrets this relay may share with relay number `peer`, the one it uses now first
   * (more than one while a key rolls over). Empty when `peer` is not admitted: packets from it
   * fail on every link.
   */
  secrets: (peer: number) => readonly Buffer[]
}

const SALT = Buffer.from('relaymesh v2')

function hkdf (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, len: number): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, len))
}

function label (text: string, ...numbers: number[]): Buffer {
  const b = Buffer.alloc(text.length + 4 * numbers.length)
  b.write(text, 0, 'latin1')
  numbers.forEach((n, i) => { b.writeUInt32BE(n >>> 0, text.length + 4 * i) })
  return b
}

/** The pair secret from a raw shared secret (X25519 output or mesh key), bound to both numbers. */
function pairSecret (ikm: Uint8Array, a: number, b: number): Buffer {
  return hkdf(ikm, SALT, label('relaymesh v2 pair', Math.min(a, b), Math.max(a, b)), 32)
}

/** Boot-independent keys of one pair, for the session handshake. */
export interface PairKeys {
  secret: Buffer
  /** Link tag of a HELLO sent straight to the peer, before a session exists (self → peer, peer → self). */
  staticTx: SipKey
  staticRx: SipKey
  /** MAC inside a HELLO, end to end (self → peer, peer → self). */
  helloTx: SipKey
  helloRx: SipKey
}

export function pairKeys (secret: Buffer, self: number, peer: number): PairKeys {
  const k = (name: string, from: number, to: number): SipKey => sipKeyFromBytes(hkdf(secret, SALT, label(name, from, to), 16))
  return {
    secret,
    staticTx: k('relaymesh v2 static link', self, peer),
    staticRx: k('relaymesh v2 static link', peer, self),
    helloTx: k('relaymesh v2 hello', self, peer),
    helloRx: k('relaymesh v2 hello', peer, self)
  }
}

/** The keys of one session: one boot of each side. */
export interface SessionKeys {
  linkTx: SipKey
  linkRx: SipKey
  sealTx: PayloadKey
  sealRx: PayloadKey
}

export function sessionKeys (secret: Buffer, self: number, peer: number, selfBoot: number, peerBoot: number): SessionKeys {
  const dir = (name: string, from: number, to: number, fromBoot: number, toBoot: number, len: number): Buffer =>
    hkdf(secret, label('relaymesh v2 boots', fromBoot, toBoot), label(name, from, to), len)
  return {
    linkTx: sipKeyFromBytes(dir('relaymesh v2 link', self, peer, selfBoot, peerBoot, 16)),
    linkRx: sipKeyFromBytes(dir('relaymesh v2 link', peer, self, peerBoot, selfBoot, 16)),
    sealTx: payloadKey(dir('relaymesh v2 seal', self, peer, selfBoot, peerBoot, 16)),
    sealRx: payloadKey(dir('relaymesh v2 seal', peer, self, peerBoot, selfBoot, 16))
  }
}

const MAX_CACHED_PEERS = 65536

/** Every relay holds the same mesh key: the pair secret follows from the two numbers. */
export class MeshKeyBook implements KeyBook {
  private readonly keys: Uint8Array[]
  private readonly cache = new Map<number, Buffer[]>()

  constructor (private readonly self: number, meshKey: Uint8Array) {
    if (meshKey.length < MIN_MESH_KEY_BYTES) throw new TypeError(`mesh key must be at least ${MIN_MESH_KEY_BYTES} bytes, got ${meshKey.length}`)
    this.keys = [meshKey]
  }

  secrets (peer: number): readonly Buffer[] {
    let s = this.cache.get(peer)
    if (s === undefined) {
      s = this.keys.map((k) => pairSecret(k, this.self, peer))
      // Any number is admitted here, so numbers from forged headers must not grow the cache.
      if (this.cache.size >= MAX_CACHED_PEERS) this.cache.clear()
      this.cache.set(peer, s)
    }
    return s
  }
}

/**
 * Identities: a relay shares a pair secret only with relays whose public keys it was given (by the
 * controller, or by the static mesh file). Removing a relay's keys revokes it. Asked for a relay it
 * has no keys for (and was not told is removed), it calls `onWant`, so the relay can ask the
 * controller.
 */
export class IdentityKeyBook implements KeyBook {
  private peers = new Map<number, readonly PublicIdentity[]>()
  private readonly cache = new Map<number, Buffer[]>()
  /** Relays the controller said are not admitted: not asked for again until an upsert names them. */
  private readonly removed = new Set<number>()
  onWant: ((peer: number) => void) | undefined

  constructor (private readonly self: number, private ownId: Identity) {}

  get own (): Identity { return this.ownId }

  /** Replaces the admitted relays' public keys, by relay number. */
  setPeers (peers: Map<number, readonly PublicIdentity[]>): void {
    for (const [n, keys] of this.peers) {
      const next = peers.get(n)
      if (next === undefined || next.length !== keys.length || next.some((k, i) => !k.equals(keys[i]))) this.cache.delete(n)
    }
    this.peers = peers
  }

  /** Applies a controller's keys message: upserts, and relays no longer admitted. */
  update (upserts: ReadonlyMap<number, readonly PublicIdentity[]>, removed: Iterable<number>): void {
    const next = new Map(this.peers)
    for (const n of removed) { next.delete(n); this.removed.add(n) }
    for (const [n, keys] of upserts) { next.set(n, keys); this.removed.delete(n) }
    this.setPeers(next)
  }

  /** Switches this relay's own identity; every pair secret changes. */
  setOwn (own: Identity): void {
    this.ownId = own
    this.cache.clear()
  }

  admitted (peer: number): boolean { return this.peers.has(peer) }

  secrets (peer: number): readonly Buffer[] {
    let s = this.cache.get(peer)
    if (s === undefined) {
      const keys = this.peers.get(peer)
      if (keys === undefined) {
        if (!this.removed.has(peer)) this.onWant?.(peer)
        return []
      }
      s = keys.map((k) => pairSecret(this.ownId.agree(k), this.self, peer))
      this.cache.set(peer, s)
    }
    return s
  }
}
