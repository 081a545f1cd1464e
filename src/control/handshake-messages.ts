import { HandshakeError, type HandshakeIo } from '../transport/quic/auth.js'

/** Reading the control channel's handshake messages (mesh-key-auth.ts, identity-auth.ts). */

export type HandshakeMessage = Record<string, unknown>

/** Reads the next message and checks its type. */
export async function readHandshakeMessage (io: HandshakeIo, type: string, peer: string): Promise<HandshakeMessage> {
  const msg = await io.read()
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
    throw new HandshakeError('protocol', `${peer} sent a non-object handshake message where '${type}' was expected`)
  }
  const m = msg as HandshakeMessage
  if (m.type !== type) {
    throw new HandshakeError('protocol', `${peer} sent handshake message '${String(m.type).slice(0, 40)}' where '${type}' was expected`)
  }
  return m
}

/** A field that must hold exactly `bytes` bytes, as canonical base64. */
export function bytesField (m: HandshakeMessage, name: string, bytes: number, peer: string): Buffer {
  const v = m[name]
  const b = typeof v === 'string' ? Buffer.from(v, 'base64') : undefined
  if (b === undefined || b.length !== bytes || b.toString('base64') !== v) {
    throw new HandshakeError('protocol', `${peer} sent a handshake '${name}' that is not ${bytes} bytes of base64`)
  }
  return b
}

/** Reads the client's hello and refuses any version but `version` (a server's first step). */
export async function readHello (io: HandshakeIo, version: number, peer: string): Promise<HandshakeMessage> {
  const hello = await readHandshakeMessage(io, 'hello', peer)
  if (hello.version !== version) {
    const reason = `unsupported handshake version ${String(hello.version).slice(0, 20)}; this server speaks ${version}`
    throw new HandshakeError('protocol', `${peer} ${reason}`, { reason })
  }
  return hello
}
