import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'
import { systemClock, type Clock } from '../clock.js'
import { ErrorCode, RelaymeshError } from '../errors.js'

/**
 * Mesh-key authentication for the QUIC control channel. Both ends prove they hold the mesh key by
 * a challenge-response on the channel's stream, before any application message:
 *
 *   client                                              server
 *     hello     {type:'hello', version:1}          ──▶
 *               {type:'challenge', challenge: Sc}  ◀──  Sc = 32 random bytes
 *     proof     {type:'proof', challenge: Cc,      ──▶  verifies Mc, or sends
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

const CLIENT_LABEL = Buffer.from('client')
const SERVER_LABEL = Buffer.from('server')

/** The two ends talk through this; the QUIC channel supplies one over its stream's frames. */
export interface HandshakeIo {
  /** Next message from the peer. Rejects when the stream ends or breaks. */
  read: () => Promise<unknown>
  send: (msg: unknown) => Promise<void>
}

export interface HandshakeInit {
  meshKey: Buffer
  /** SHA-256 of the server's certificate: its own on the server, the peer's on the client. */
  fingerprint: Buffer
  timeoutMs: number
  clock?: Clock
  /** Names the peer in error messages, e.g. "controller 127.0.0.1:7000". */
  peer?: string
}

export type HandshakeFailure =
  /** The peer's proof did not verify: it holds another mesh key, or it is an impostor. */
  | 'key_mismatch'
  /** The peer refused our proof. */
  | 'refused'
  /** The peer broke the protocol: a wrong message, a bad field, another version. */
  | 'protocol'
  | 'timeout'
  /** The stream ended or broke mid-handshake. */
  | 'closed'

export class HandshakeError extends RelaymeshError {
  readonly failure: HandshakeFailure

  constructor (failure: HandshakeFailure, message: string, cause?: unknown) {
    const keyProblem = failure === 'key_mismatch' || failure === 'refused'
    super(keyProblem ? ErrorCode.MESH_KEY : ErrorCode.SOCKET, message, { cause, retryable: !keyProblem && failure !== 'protocol' })
    this.name = 'HandshakeError'
    this.failure = failure
  }
}

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

/** Runs the server's half. Resolves once the client is proven; throws HandshakeError otherwise. */
export async function serverHandshake (io: HandshakeIo, init: HandshakeInit): Promise<void> {
  await withTimeout(init, async () => {
    const peer = init.peer ?? 'client'
    const hello = await readMessage(io, 'hello', peer)
    if (hello.version !== HANDSHAKE_VERSION) {
      const reason = `unsupported handshake version ${String(hello.version)}; this server speaks ${HANDSHAKE_VERSION}`
      await refuse(io, reason)
      throw new HandshakeError('protocol', `${peer} ${reason}`)
    }
    const sc = randomBytes(CHALLENGE_BYTES)
    await io.send({ type: 'challenge', challenge: sc.toString('base64') })
    const proof = await readMessage(io, 'proof', peer)
    const cc = bytesField(proof, 'challenge', peer)
    const mac = bytesField(proof, 'mac', peer)
    const key = deriveAuthKey(init.meshKey)
    if (!macEquals(mac, proofMac(key, 'client', sc, cc, init.fingerprint))) {
      await refuse(io, 'mesh key proof failed')
      throw new HandshakeError('key_mismatch', `${peer} failed the mesh-key proof: it holds another mesh key`)
    }
    await io.send({ type: 'accept', mac: proofMac(key, 'server', sc, cc, init.fingerprint).toString('base64') })
  })
}

/** Runs the client's half. Resolves once the server is proven; throws HandshakeError otherwise. */
export async function clientHandshake (io: HandshakeIo, init: HandshakeInit): Promise<void> {
  await withTimeout(init, async () => {
    const peer = init.peer ?? 'server'
    await io.send({ type: 'hello', version: HANDSHAKE_VERSION })
    const challenge = await readMessage(io, 'challenge', peer)
    const sc = bytesField(challenge, 'challenge', peer)
    const cc = randomBytes(CHALLENGE_BYTES)
    const key = deriveAuthKey(init.meshKey)
    await io.send({ type: 'proof', challenge: cc.toString('base64'), mac: proofMac(key, 'client', sc, cc, init.fingerprint).toString('base64') })
    const accept = await readMessage(io, 'accept', peer)
    const mac = bytesField(accept, 'mac', peer)
    if (!macEquals(mac, proofMac(key, 'server', sc, cc, init.fingerprint))) {
      throw new HandshakeError('key_mismatch', `${peer} failed to prove it holds the mesh key; check that both ends read the same --mesh-key-file`)
    }
  })
}

type Message = Record<string, unknown>

/** Reads the next message and checks its type; a 'refuse' becomes a 'refused' error. */
async function readMessage (io: HandshakeIo, type: string, peer: string): Promise<Message> {
  let msg: unknown
  try {
    msg = await io.read()
  } catch (err) {
    if (err instanceof HandshakeError) throw err
    throw new HandshakeError('closed', `${peer} closed the channel during the mesh-key handshake: ${(err as Error).message}`, err)
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
    throw new HandshakeError('protocol', `${peer} sent a non-object handshake message where '${type}' was expected`)
  }
  const m = msg as Message
  if (m.type === 'refuse') {
    const reason = typeof m.reason === 'string' ? m.reason.slice(0, 200) : 'no reason given'
    throw new HandshakeError('refused', `${peer} refused the mesh-key handshake (${reason}); both ends must read the same --mesh-key-file`)
  }
  if (m.type !== type) {
    throw new HandshakeError('protocol', `${peer} sent handshake message '${String(m.type).slice(0, 40)}' where '${type}' was expected`)
  }
  return m
}

function bytesField (m: Message, name: string, peer: string): Buffer {
  const v = m[name]
  const b = typeof v === 'string' ? Buffer.from(v, 'base64') : undefined
  if (b === undefined || b.length !== CHALLENGE_BYTES || b.toString('base64') !== v) {
    throw new HandshakeError('protocol', `${peer} sent a handshake '${name}' that is not ${CHALLENGE_BYTES} bytes of base64`)
  }
  return b
}

/** Tells the peer why before the caller closes; a peer already gone is no error here. */
async function refuse (io: HandshakeIo, reason: string): Promise<void> {
  try { await io.send({ type: 'refuse', reason }) } catch { /* the close that follows says it again */ }
}

async function withTimeout (init: HandshakeInit, run: () => Promise<void>): Promise<void> {
  const clock = init.clock ?? systemClock
  let timer: ReturnType<Clock['setTimeout']> | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = clock.setTimeout(() => {
      reject(new HandshakeError('timeout', `${init.peer ?? 'peer'} did not complete the mesh-key handshake within ${init.timeoutMs} ms`))
    }, init.timeoutMs)
  })
  try {
    await Promise.race([run(), timeout])
  } finally {
    if (timer !== undefined) clock.clearTimer(timer)
  }
}
