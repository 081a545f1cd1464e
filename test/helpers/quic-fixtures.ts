import { after } from 'node:test'
import { QUICClient } from '@matrixai/quic'
import { silentLogger } from '../../src/logging.js'
import type { Channel, QuicServer } from '../../src/transport/quic/channel.js'
import { SERVER_NAME } from '../../src/transport/quic/constants.js'
import { clientCrypto } from '../../src/transport/quic/quic-crypto.js'
import { quicConfig, resolveTuning } from '../../src/transport/quic/quic-config.js'
import { quicLibraryLogger } from '../../src/transport/quic/quic-logger.js'

/** What a QUIC test file opened; everything in it is closed after the file's tests. */
export interface QuicLeftovers { servers: QuicServer[], channels: Channel[], strangers: QUICClient[] }

/** Call once at a test file's top level. */
export function closeAfterTests (): QuicLeftovers {
  const left: QuicLeftovers = { servers: [], channels: [], strangers: [] }
  after(async () => {
    await Promise.all(left.channels.map(async (c) => { await c.close() }))
    await Promise.all(left.strangers.map(async (c) => { await c.destroy({ force: true }) }))
    await Promise.all(left.servers.map(async (s) => { await s.stop() }))
  })
  return left
}

/**
 * A client that completes the QUIC handshake for `alpn` from `localHost` and then says nothing,
 * so it holds a pending handshake until the server's handshake timeout. Rejects if no answer
 * within timerMs. It is added to `left.strangers`.
 */
export async function stranger (left: QuicLeftovers, port: number, opts: { alpn: string, localHost?: string, timerMs: number }): Promise<QUICClient> {
  const c = await QUICClient.createQUICClient({
    host: '127.0.0.1',
    port,
    serverName: SERVER_NAME,
    localHost: opts.localHost ?? '127.0.0.1',
    crypto: clientCrypto(),
    config: quicConfig(resolveTuning({}), 'client', opts.alpn),
    logger: quicLibraryLogger(silentLogger(), 'stranger')
  }, { timer: opts.timerMs })
  left.strangers.push(c)
  return c
}
