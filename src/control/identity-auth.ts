import { randomBytes } from 'node:crypto'
import { ErrorCode } from '../errors.js'
import { parsePublicKey, type Identity, type PublicIdentity } from '../identity.js'
import { HandshakeError, type AuthContext, type ClientAuth, type ServerAuth } from '../transport/quic/auth.js'
import { bytesField, readHandshakeMessage, readHello, type HandshakeMessage } from './handshake-messages.js'

/**
 * Identity authentication for the control channel (security v2, docs/security.md): a hook for the
 * QUIC transport (src/transport/quic/auth.ts) in which the relay proves it holds the identity key
 * the controller's allow-list gives for one relay id, and the controller proves it holds the key
 * the relay pins. Nothing is shared: a relay's key speaks only for that relay.
 *
 *   client (relay)                                       server (controller)
 *     hello  {type:'hello', version:1, key: Kc}     ──▶  Kc must be on the allow-list, else
 *                                                        {type:'refuse'}: "unknown relay key"
 *            {type:'challenge', challenge: Sc,      ◀──  Sc = 32 random bytes
 *             key: Ks}
 *   Ks must be the pinned key, else closes
 *     proof  {type:'proof', challenge: Cc, sig: Gc} ──▶  verifies Gc under Kc
 *            {type:'accept', sig: Gs}               ◀──
 *   verifies Gs under the pinned key
 *
 *   Gc = Ed25519 signature by the relay of       T || "client" || Sc || Cc || F || Kc || Ks
 *   Gs = Ed25519 signature by the controller of  T || "server" || Sc || Cc || F || Kc || Ks
 *   T  = "relaymesh control identity v1\0"; F = SHA-256 of the server's TLS certificate (DER)
 *   Kc, Ks = the 64-byte public keys (Ed25519 || X25519)
 *
 * As in the mesh-key hook, fresh challenges from both sides keep a proof from being replayed, the
 * role labels keep one side's proof from passing for the other's, and F binds both to this TLS
 * session, so a man in the middle cannot relay them between two sessions. Signing both keys binds
 * the proof to the pair: a relay's proof to one controller says nothing to another.
 *
 * The server resolves with the relay id its key is listed under: the controller then accepts a
 * register only under that id.
 */

export const IDENTITY_HANDSHAKE_VERSION = 1
const CHALLENGE_BYTES = 32
const SIGNATURE_BYTES = 64
const TRANSCRIPT_LABEL = Buffer.from('relaymesh control identity v1\0')
const NAME = 'identity'
const FIX = "list the relay's public key (relaymesh keygen --identity FILE writes FILE.pub) in the controller's allow-list, and give the relay the controller's public key"

/** What the server learned of the client: the relay id its key is listed under. */
export interface IdentityPeer {
  relayId: string
  key: PublicIdentity
}

function transcript (role: 'client' | 'server', sc: Buffer, cc: Buffer, fingerprint: Buffer, kc: PublicIdentity, ks: PublicIdentity): Buffer {
  return Buffer.concat([TRANSCRIPT_LABEL, Buffer.from(role), sc, cc, fingerprint, kc.sign, kc.dh, ks.sign, ks.dh])
}

/**
 * The controller's half. `lookup` gives the relay id a key is listed under (undefined: not
 * admitted); it is asked at each handshake, so a reloaded allow-list applies to the next one.
 */
export function identityServerAuth (identity: Identity | (() => Identity), lookup: (key: PublicIdentity) => string | undefined): ServerAuth<IdentityPeer> {
  return {
    name: NAME,
    verify: async ({ io, fingerprint, peer }: AuthContext) => {
      // Asked at each handshake, so a controller that switched keys proves the new one from then on.
      const own = typeof identity === 'function' ? identity() : identity
      const hello = await readHello(io, IDENTITY_HANDSHAKE_VERSION, peer)
      const kc = keyField(hello, peer)
      const relayId = lookup(kc)
      if (relayId === undefined) {
        throw new HandshakeError('rejected', `${peer} presented a relay key that is not on the allow-list (${kc.text.slice(0, 24)}…)`, { reason: 'unknown relay key', code: ErrorCode.AUTH })
      }
      const sc = randomBytes(CHALLENGE_BYTES)
      await io.send({ type: 'challenge', challenge: sc.toString('base64'), key: own.public.text })
      const proof = await readHandshakeMessage(io, 'proof', peer)
      const cc = bytesField(proof, 'challenge', CHALLENGE_BYTES, peer)
      const sig = bytesField(proof, 'sig', SIGNATURE_BYTES, peer)
      if (!kc.verify(transcript('client', sc, cc, fingerprint, kc, own.public), sig)) {
        throw new HandshakeError('rejected', `${peer} failed the identity proof for relay '${relayId}': it does not hold that key`, { reason: 'identity proof failed', code: ErrorCode.AUTH })
      }
      await io.send({ type: 'accept', sig: own.sign(transcript('server', sc, cc, fingerprint, kc, own.public)).toString('base64') })
      return { relayId, key: kc }
    }
  }
}

/**
 * The relay's half: proves `own`, and admits only a controller that proves it holds one of the
 * `pinned` keys (more than one while the controller's key rolls over).
 */
export function identityClientAuth (own: Identity, pinnedKeys: PublicIdentity | readonly PublicIdentity[]): ClientAuth {
  const pins = Array.isArray(pinnedKeys) ? pinnedKeys as readonly PublicIdentity[] : [pinnedKeys as PublicIdentity]
  return {
    name: NAME,
    code: ErrorCode.AUTH,
    fix: FIX,
    prove: async ({ io, fingerprint, peer }: AuthContext) => {
      await io.send({ type: 'hello', version: IDENTITY_HANDSHAKE_VERSION, key: own.public.text })
      const challenge = await readHandshakeMessage(io, 'challenge', peer)
      const sc = bytesField(challenge, 'challenge', CHALLENGE_BYTES, peer)
      const ks = keyField(challenge, peer)
      const pinned = pins.find((k) => k.equals(ks))
      if (pinned === undefined) {
        throw new HandshakeError('rejected', `${peer} presented controller key ${ks.text.slice(0, 24)}…, not the one pinned for it (${pins.map((k) => `${k.text.slice(0, 24)}…`).join(', ')})`, { reason: 'unpinned controller key', code: ErrorCode.AUTH })
      }
      const cc = randomBytes(CHALLENGE_BYTES)
      await io.send({ type: 'proof', challenge: cc.toString('base64'), sig: own.sign(transcript('client', sc, cc, fingerprint, own.public, pinned)).toString('base64') })
      const accept = await readHandshakeMessage(io, 'accept', peer)
      const sig = bytesField(accept, 'sig', SIGNATURE_BYTES, peer)
      if (!pinned.verify(transcript('server', sc, cc, fingerprint, own.public, pinned), sig)) {
        throw new HandshakeError('rejected', `${peer} failed to prove it holds the pinned controller key`, { reason: 'controller identity proof failed', code: ErrorCode.AUTH })
      }
    }
  }
}

function keyField (m: HandshakeMessage, peer: string): PublicIdentity {
  const v = m.key
  try {
    if (typeof v !== 'string') throw new Error('not a string')
    return parsePublicKey(v, 'key')
  } catch {
    throw new HandshakeError('protocol', `${peer} sent a handshake 'key' that is not a public key line`)
  }
}
