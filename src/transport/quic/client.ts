import { isIP } from 'node:net'
import { errors as quicErrors, QUICClient } from '@matrixai/quic'
import { systemClock } from '../../clock.js'
import { clientHandshake, HandshakeError } from '../../control/handshake.js'
import { ErrorCode, ioError, RelaymeshError } from '../../errors.js'
import { formatHostPort } from '../address.js'
import { certFingerprint } from './certs.js'
import { CloseCode, DEFAULT_CONNECT_TIMEOUT_MS, SERVER_NAME } from './constants.js'
import { QuicChannel } from './quic-channel.js'
import { quicConfig, resolveTuning } from './quic-config.js'
import { clientCrypto } from './quic-crypto.js'
import { quicLibraryLogger } from './quic-logger.js'
import type { Channel, ConnectQuicOptions } from './types.js'

/**
 * Connects to a QUIC channel server and proves the mesh key both ways; see handshake.ts. Rejects
 * with a RelaymeshError: code RM_ERR_MESH_KEY when the keys differ (from either side's check),
 * RM_ERR_SOCKET, retryable, when the server cannot be reached or the deadline passes.
 */
export async function connectQuic (opts: ConnectQuicOptions): Promise<Channel> {
  const family = isIP(opts.host)
  if (family === 0) throw new TypeError(`QUIC server host '${opts.host}' is not an IP literal`)
  const tuning = resolveTuning(opts)
  const clock = opts.clock ?? systemClock
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
  const startedMs = clock.monoMs()
  const addr = formatHostPort(opts)
  const log = opts.logger.child({ component: 'quic-client', server: addr })

  let client: QUICClient
  try {
    client = await QUICClient.createQUICClient({
      host: opts.host,
      port: opts.port,
      // SNI only: certificates are not checked by name (see quicConfig).
      serverName: SERVER_NAME,
      localHost: family === 6 ? '::' : '0.0.0.0',
      crypto: clientCrypto(),
      config: quicConfig(tuning, 'client'),
      logger: quicLibraryLogger(log, 'QUICClient')
    }, { timer: timeoutMs })
  } catch (err) {
    if (err instanceof quicErrors.ErrorQUICClientCreateTimeout) {
      throw new RelaymeshError(ErrorCode.SOCKET, `connect QUIC ${addr}: no answer within ${timeoutMs} ms; is the server running there?`, { cause: err, retryable: true })
    }
    throw ioError(`connect QUIC ${addr}`, err, true)
  }

  const stop = async (code: number, reason: string): Promise<void> => {
    await client.destroy({ isApp: true, errorCode: code, reason: Buffer.from(reason), force: true })
  }
  const leaf = client.connection.getRemoteCertsChain()[0]
  if (leaf === undefined) {
    await stop(CloseCode.AUTH_FAILED, 'no server certificate')
    throw new HandshakeError('protocol', `QUIC server ${addr} presented no certificate`)
  }
  const channel = new QuicChannel({ logger: opts.logger, clock }, {
    connection: client.connection,
    stream: client.connection.newStream('bidi'),
    maxFrameBytes: tuning.maxFrameBytes,
    closeGraceMs: tuning.closeGraceMs,
    stopConnection: stop
  })
  try {
    await clientHandshake(channel.handshakeIo(), {
      meshKey: opts.meshKey,
      fingerprint: certFingerprint(leaf),
      timeoutMs: Math.max(1, Math.min(tuning.handshakeTimeoutMs, timeoutMs - (clock.monoMs() - startedMs))),
      clock,
      peer: `QUIC server ${addr}`
    })
  } catch (err) {
    let e = err instanceof HandshakeError ? err : new HandshakeError('protocol', (err as Error).message, err)
    // The server may close before its 'refuse' message is read; its close code says the same.
    const closedBy = channel.connectionCloseInfo()
    if (e.failure === 'closed' && closedBy?.initiator === 'peer' && closedBy.code === CloseCode.AUTH_FAILED) {
      e = new HandshakeError('refused', `QUIC server ${addr} refused the mesh-key handshake (${closedBy.reason}); both ends must read the same --mesh-key-file`, err)
    }
    log.warn({ failure: e.failure, err: e.message }, 'QUIC handshake failed')
    await channel.abort(e.failure === 'timeout' ? CloseCode.HANDSHAKE_TIMEOUT : CloseCode.AUTH_FAILED, e.failure === 'key_mismatch' ? 'server mesh key proof failed' : `handshake failed: ${e.failure}`)
    throw e
  }
  channel.open()
  log.debug({ channelId: channel.id.slice(0, 16) }, 'QUIC channel authenticated')
  return channel
}
