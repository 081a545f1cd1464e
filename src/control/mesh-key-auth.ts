import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'
import { ErrorCode } from '../errors.js'
import { HandshakeError, type AuthContext, type ClientAuth, type ServerAuth } from '../transport/quic/auth.js'
import { bytesField, readHandshakeMessage, readHello } from './handshake-messages.js'

/**
 * Mesh-key authentication: the control channel's hook for the QUIC transport (auth.ts there).
 * Both ends prove they hold the mesh key by a challenge-response on the channel's stream, before
 * any application message:
 *
 *   client                                              server
 *     hello     {type:'hello', version:1}          ──▶
 *               {type:'challenge', challenge: Sc}  ◀──  Sc = 32 random bytes
 *     proof     {type:'proof', challenge: Cc,      ──▶  verifies Mc, or the transport sends
 *                mac: Mc}                               {type:'refuse', reason} and closes
 *               {type:'accept', mac: Ms}           ◀──
 *   verifies Ms, or closes
 *
 *   K  = HKDF-SHA256(ikm = mesh key, salt = "", info = AUTH_INFO, 32 bytes)
 *   Mc = HMAC-SHA256(K, "client" || Sc || Cc || F)
 *   Ms = HMAC-SHA256(K, "server" || Sc || Cc || F)
 *   F  = SHA-256 of the server's TLS certificate (DER), as each end sees it
 *
 * Binary fields travel as base64 inside the channel's JSON frames. Every field is fixed-length, so
 * the concatenations are unambiguous. The labels keep a client proof from passing as a server
 * proof. Each side's fresh challenge keeps an old proof from being replayed. K is derived with
 * its own HKDF label, so the raw mesh key, which also authenticates data packets, never keys this
 * MAC directly.
 *
 * F binds the proofs to the TLS session. A man in the middle cannot present the server's
 * certificate, because it lacks the private key. So the client computes F over the attacker's
 * certificate, and the server's check fails. Relaying the messages between two TLS sessions
 * therefore gets the attacker nowhere, though neither end verifies certificates against a CA.
 */

/** HKDF info label for the control-channel authentication key. */
export const AUTH_INFO = 'relaymesh control-channel auth v1'
/** Handshake protocol version carried in hello. */
export const HANDSHAKE_VERSION = 1
/** Bytes of each challenge, and of each MAC. */
export const CHALLENGE_BYTES = 32
/** The hook's name in logs and errors. */
const NAME = 'mesh-key'
/** What a refused relay or controller should fix. */
const FIX = 'both ends must read the same --mesh-key-file'

const CLIENT_LABEL = Buffer.from('client')
const SERVER_LABEL = Buffer.from('server')

/** The key every proof is made with. */
export function deriveAuthKey (meshKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', meshKey, Buffer.alloc(0), AUTH_INFO, 32))
}

/** A proof of one role over both challenges and the certificate fingerprint. */
export function proofMac (authKey: Buffer, role: 'client' | 'server', serverChallenge: Buffer, clientChallenge: Buffer, fingerprint: Buffer): Buffer {
  return createHmac('sha256', authKey)
    .update(role === 'client' ? CLIENT_LABEL : SERVER_LABEL)
    .update(serverChallenge)
    .update(clientChallenge)
    .update(fingerprint)
    .digest()
}

function macEquals (a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

/** The server's half: a client is admitted once it proves it holds `meshKey`. */
export function meshKeyServerAuth (meshKey: Buffer): ServerAuth<void> {
  const key = deriveAuthKey(meshKey)
  return {
    name: NAME,
    verify: async ({ io, fingerprint, peer }: AuthContext) => {
      await readHello(io, HANDSHAKE_VERSION, peer)
      const sc = randomBytes(CHALLENGE_BYTES)
      await io.send({ type: 'challenge', challenge: sc.toString('base64') })
      const proof = await readHandshakeMessage(io, 'proof', peer)
      const cc = bytesField(proof, 'challenge', CHALLENGE_BYTES, peer)
      const mac = bytesField(proof, 'mac', CHALLENGE_BYTES, peer)
      if (!macEquals(mac, proofMac(key, 'client', sc, cc, fingerprint))) {
        throw new HandshakeError('rejected', `${peer} failed the mesh-key proof: it holds another mesh key`, { reason: 'mesh key proof failed', code: ErrorCode.MESH_KEY })
      }
      await io.send({ type: 'accept', mac: proofMac(key, 'server', sc, cc, fingerprint).toString('base64') })
    }
  }
}

/** The client's half: proves it holds `meshKey`, and admits only a server that proves it too. */
export function meshKeyClientAuth (meshKey: Buffer): ClientAuth {
  const key = deriveAuthKey(meshKey)
  return {
    name: NAME,
    code: ErrorCode.MESH_KEY,
    fix: FIX,
    prove: async ({ io, fingerprint, peer }: AuthContext) => {
      await io.send({ type: 'hello', version: HANDSHAKE_VERSION })
      const challenge = await readHandshakeMessage(io, 'challenge', peer)
      const sc = bytesField(challenge, 'challenge', CHALLENGE_BYTES, peer)
      const cc = randomBytes(CHALLENGE_BYTES)
      await io.send({ type: 'proof', challenge: cc.toString('base64'), mac: proofMac(key, 'client', sc, cc, fingerprint).toString('base64') })
      const accept = await readHandshakeMessage(io, 'accept', peer)
      const mac = bytesField(accept, 'mac', CHALLENGE_BYTES, peer)
      if (!macEquals(mac, proofMac(key, 'server', sc, cc, fingerprint))) {
        throw new HandshakeError('rejected', `${peer} failed to prove it holds the mesh key; check that ${FIX}`, { reason: 'server mesh key proof failed', code: ErrorCode.MESH_KEY })
      }
    }
  }
}
