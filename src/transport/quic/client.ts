import { isIP } from 'node:net'
import { errors as quicErrors, QUICClient } from '@matrixai/quic'
import { systemClock } from '../../clock.js'
import { ErrorCode, ioError, RelaymeshError } from '../../errors.js'
import { formatHostPort } from '../address.js'
import { HandshakeError, refusedError, runClientAuth } from './auth.js'
import { certFingerprint } from './certs.js'
import { CloseCode, DEFAULT_CONNECT_TIMEOUT_MS, QUIC_NO_APPLICATION_PROTOCOL, SERVER_NAME } from './constants.js'
import { QuicChannel } from './quic-channel.js'
import { checkAlpn, quicConfig, resolveTuning } from './quic-config.js'
import { clientCrypto } from './quic-crypto.js'
import { quicLibraryLogger } from './quic-logger.js'
import { lightenRecvLock, warnHeavyLock } from './recv-lock.js'
import type { Channel, ConnectQuicOptions } from './types.js'

/**
 * Connects to a QUIC channel server of the channel type `alpn` and runs the client half of its
 * auth hook. Rejects with a RelaymeshError:
 * - RM_ERR_AUTH when the server serves another channel type (no common ALPN);
 * - the hook's code (RM_ERR_AUTH unless it names one; RM_ERR_MESH_KEY for the control channel)
 *   when either end fails the other's check, with the server's reason;
 * - RM_ERR_SOCKET, retryable, when the server cannot be reached or the deadline passes.
 */
export async function connectQuic (opts: ConnectQuicOptions): Promise<Channel> {
  const family = isIP(opts.host)
  if (family === 0) throw new TypeError(`QUIC server host '${opts.host}' is not an IP literal`)
  const alpn = checkAlpn(opts.alpn)
  const auth = opts.auth
  if (typeof auth?.prove !== 'function') throw new TypeError(`QUIC client for '${alpn}' needs an auth hook with a prove function`)
  const tuning = resolveTuning(opts)
  const clock = opts.clock ?? systemClock
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
  const startedMs = clock.monoMs()
  const addr = formatHostPort(opts)
  const log = opts.logger.child({ component: 'quic-client', server: addr, alpn })

  let client: QUICClient
  try {
    client = await QUICClient.createQUICClient({
      host: opts.host,
      port: opts.port,
      // SNI only: certificates are not checked by name (see quicConfig).
      serverName: SERVER_NAME,
      localHost: family === 6 ? '::' : '0.0.0.0',
      crypto: clientCrypto(),
      config: quicConfig(tuning, 'client', alpn),
      logger: quicLibraryLogger(log, 'QUICClient')
    }, { timer: timeoutMs })
  } catch (err) {
    if (err instanceof quicErrors.ErrorQUICClientCreateTimeout) {
      throw new RelaymeshError(ErrorCode.SOCKET, `connect QUIC ${addr}: no answer within ${timeoutMs} ms; is the server running there?`, { cause: err, retryable: true })
    }
    if (isNoApplicationProtocol(err)) {
      throw new HandshakeError('refused', `QUIC server ${addr} does not serve '${alpn}' channels (TLS: no application protocol); another kind of channel listens there, check the address`, { reason: 'no application protocol', cause: err })
    }
    throw ioError(`connect QUIC ${addr}`, err, true)
  }

  if (!lightenRecvLock(client.connection)) warnHeavyLock(log)
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
    keepAliveIntervalMs: tuning.keepAliveIntervalMs,
    stopConnection: stop
  })
  const peer = `QUIC server ${addr}`
  try {
    await runClientAuth(auth, { io: channel.handshakeIo(), fingerprint: certFingerprint(leaf), peer }, {
      timeoutMs: Math.max(1, Math.min(tuning.handshakeTimeoutMs, opts.authTimeoutMs ?? timeoutMs - (clock.monoMs() - startedMs))),
      clock
    })
  } catch (err) {
    let e = err as HandshakeError
    // The server may close before its 'refuse' message is read; its close code says the same.
    const closedBy = channel.connectionCloseInfo()
    if (e.failure === 'closed' && closedBy?.initiator === 'peer' && closedBy.code === CloseCode.AUTH_FAILED) {
      e = refusedError(auth, peer, closedBy.reason, err)
    }
    log.warn({ auth: auth.name, failure: e.failure, err: e.message }, 'QUIC handshake failed')
    await channel.abort(e.failure === 'timeout' ? CloseCode.HANDSHAKE_TIMEOUT : CloseCode.AUTH_FAILED, e.failure === 'rejected' ? e.reason : `handshake failed: ${e.failure}`)
    throw e
  }
  channel.open()
  log.debug({ channelId: channel.id.slice(0, 16) }, 'QUIC channel authenticated')
  return channel
}

/** The server's TLS stack found no ALPN in common: it serves another channel type. */
function isNoApplicationProtocol (err: unknown): boolean {
  const data = (err as { data?: { isApp?: boolean, errorCode?: number } } | undefined)?.data
  return err instanceof quicErrors.ErrorQUICConnectionPeerTLS && data?.isApp === false && data.errorCode === QUIC_NO_APPLICATION_PROTOCOL
}
