import type { Clock } from '../../clock.js'
import { ErrorCode, RelaymeshError } from '../../errors.js'

/**
 * Authentication hooks: how a channel type decides who may use it. The QUIC transport knows no
 * credential. Each channel type (the control channel's mesh key, a client channel's room token)
 * brings a server half and a client half, which the transport runs on a new connection's stream
 * after TLS and before the channel opens. While they run, frames are capped at 4 KiB, so a
 * stranger cannot make the server buffer more.
 *
 * The transport owns what every hook needs alike: the deadline, the ends of the stream, and the
 * refusal. When a server hook fails, the client is sent {type: 'refuse', reason} and the
 * connection closes with CloseCode.AUTH_FAILED and the same reason; the client's transport turns
 * either into a 'refused' HandshakeError with the hook's error code. Hooks must not use the
 * message type 'refuse' for anything else.
 */

/** The two ends talk through this; the QUIC channel supplies one over its stream's frames. */
export interface HandshakeIo {
  /** Next message from the peer. Rejects when the stream ends or breaks. */
  read: () => Promise<unknown>
  send: (msg: unknown) => Promise<void>
}

/** What a hook is given of the connection it authenticates. */
export interface AuthContext {
  io: HandshakeIo
  /**
   * SHA-256 of the server's TLS certificate (DER): the server's own on the server, the one it
   * presented on the client. Neither end checks certificates against a CA, so a hook that binds
   * its proofs to this keeps a man in the middle from relaying them between two TLS sessions.
   */
  fingerprint: Buffer
  /** Names the peer in messages, e.g. "QUIC server 127.0.0.1:7000". */
  peer: string
}

/** The server's half of a channel type's authentication. */
export interface ServerAuth<P = unknown> {
  /** Names the check in logs and errors, e.g. 'mesh-key'. */
  readonly name: string
  /**
   * Checks the client. Resolves with what it learned of it, which the server hands to onChannel
   * with the channel; throws a HandshakeError ('rejected' or 'protocol', with the reason the
   * client is told) otherwise.
   */
  readonly verify: (ctx: AuthContext) => Promise<P>
}

/** The client's half of a channel type's authentication. */
export interface ClientAuth {
  /** Names the check in errors, e.g. 'mesh-key'; the same name as the server half's. */
  readonly name: string
  /** Proves this client, and checks the server if the scheme does; throws a HandshakeError if it fails. */
  readonly prove: (ctx: AuthContext) => Promise<void>
  /** Code of the error when the server refuses us or fails our check; ErrorCode.AUTH by default. */
  readonly code?: ErrorCode
  /** What to fix when the server refuses us, appended to the error, e.g. "both ends must read the same --mesh-key-file". */
  readonly fix?: string
}

export type HandshakeFailure =
  /** The peer failed our check: wrong credentials, or an impostor. */
  | 'rejected'
  /** The peer refused us. */
  | 'refused'
  /** The peer broke the protocol: a wrong message, a bad field, another version. */
  | 'protocol'
  | 'timeout'
  /** The stream ended or broke mid-handshake. */
  | 'closed'

const DEFAULT_REASONS: Record<HandshakeFailure, string> = {
  rejected: 'authentication failed',
  refused: 'authentication refused',
  protocol: 'handshake protocol error',
  timeout: 'handshake timeout',
  closed: 'handshake abandoned'
}

export class HandshakeError extends RelaymeshError {
  readonly failure: HandshakeFailure
  /** Short text the server sends a refused client; the message is for our own logs. */
  readonly reason: string

  /** code: the channel type's code for rejected and refused, ErrorCode.AUTH unless given. */
  constructor (failure: HandshakeFailure, message: string, opts: { reason?: string, code?: ErrorCode, cause?: unknown } = {}) {
    const credentials = failure === 'rejected' || failure === 'refused'
    super(credentials ? (opts.code ?? ErrorCode.AUTH) : ErrorCode.SOCKET, message, { cause: opts.cause, retryable: !credentials && failure !== 'protocol' })
    this.name = 'HandshakeError'
    this.failure = failure
    this.reason = opts.reason ?? DEFAULT_REASONS[failure]
  }
}

/** How long a hook may take, and by whose clock. */
export interface AuthDeadline {
  timeoutMs: number
  clock: Clock
}

/**
 * Runs a server hook under the deadline. On failure the client is told why (a 'refuse' message)
 * unless the peer is gone, and a HandshakeError is thrown; the caller closes the connection.
 */
export async function runServerAuth<P> (auth: ServerAuth<P>, ctx: AuthContext, deadline: AuthDeadline): Promise<P> {
  try {
    return await withDeadline(auth.name, ctx.peer, deadline, auth.verify({ ...ctx, io: guardedIo(auth.name, ctx) }))
  } catch (err) {
    const e = asHandshakeError(err)
    if (e.failure === 'rejected' || e.failure === 'protocol') {
      try { await ctx.io.send({ type: 'refuse', reason: e.reason }) } catch { /* the close that follows says it again */ }
    }
    throw e
  }
}

/**
 * Runs a client hook under the deadline. A 'refuse' from the server becomes a 'refused'
 * HandshakeError with the hook's code and fix; other failures keep their kind.
 */
export async function runClientAuth (auth: ClientAuth, ctx: AuthContext, deadline: AuthDeadline): Promise<void> {
  const io = guardedIo(auth.name, ctx)
  const read = async (): Promise<unknown> => {
    const msg = await io.read()
    const m = msg as { type?: unknown, reason?: unknown } | null
    if (typeof m === 'object' && m !== null && m.type === 'refuse') {
      throw refusedError(auth, ctx.peer, typeof m.reason === 'string' ? m.reason : 'no reason given')
    }
    return msg
  }
  try {
    await withDeadline(auth.name, ctx.peer, deadline, auth.prove({ ...ctx, io: { read, send: io.send } }))
  } catch (err) {
    const e = asHandshakeError(err)
    // A hook's own verdict on the server carries the channel type's code, as a refusal does.
    if (e.failure === 'rejected' && e.code !== (auth.code ?? ErrorCode.AUTH)) throw new HandshakeError('rejected', e.message, { reason: e.reason, code: auth.code, cause: e })
    throw e
  }
}

/** The error a client gets when the server refuses it, by a 'refuse' message or by its close code. */
export function refusedError (auth: ClientAuth, peer: string, reason: string, cause?: unknown): HandshakeError {
  const text = reason.slice(0, 200)
  return new HandshakeError('refused', `${peer} refused the ${auth.name} handshake (${text})${auth.fix === undefined ? '' : `; ${auth.fix}`}`, { reason: text, code: auth.code, cause })
}

/** A hook's read failing means the stream ended or broke under it. */
function guardedIo (name: string, ctx: AuthContext): HandshakeIo {
  return {
    read: async () => {
      try {
        return await ctx.io.read()
      } catch (err) {
        if (err instanceof HandshakeError) throw err
        throw new HandshakeError('closed', `${ctx.peer} closed the channel during the ${name} handshake: ${(err as Error).message}`, { cause: err })
      }
    },
    send: ctx.io.send
  }
}

function asHandshakeError (err: unknown): HandshakeError {
  if (err instanceof HandshakeError) return err
  return new HandshakeError('protocol', (err as Error).message, { reason: 'handshake protocol error', cause: err })
}

async function withDeadline<T> (name: string, peer: string, deadline: AuthDeadline, run: Promise<T>): Promise<T> {
  let timer: ReturnType<Clock['setTimeout']> | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = deadline.clock.setTimeout(() => {
      reject(new HandshakeError('timeout', `${peer} did not complete the ${name} handshake within ${Math.round(deadline.timeoutMs)} ms`))
    }, deadline.timeoutMs)
  })
  // The hook may still settle after the deadline; its late failure is no one's to handle.
  run.catch(() => {})
  try {
    return await Promise.race([run, timeout])
  } finally {
    if (timer !== undefined) deadline.clock.clearTimer(timer)
  }
}
