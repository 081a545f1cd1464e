import MatrixLogger, { Handler, LogLevel, type LogRecord } from '@matrixai/logger'
import type { Logger } from '../../logging.js'

/**
 * Routes @matrixai/quic's own logging into our pino logger. Left alone, the library builds a
 * logger that writes every record to stderr. It logs each connection's life at INFO and every
 * peer-initiated close at ERROR, which for a control channel are routine events, so both drop
 * one pino level; warnings stay warnings.
 */
class PinoHandler extends Handler {
  constructor (private readonly log: Logger) { super() }

  override handle (record: LogRecord): void {
    // `quic` names the library object, e.g. "QUICServer.QUICConnection <id>.QUICStream 0".
    const fields = { quic: record.keys }
    const msg = record.msg ?? ''
    switch (record.level) {
      case LogLevel.ERROR: this.log.info(fields, msg); break
      case LogLevel.WARN: this.log.warn(fields, msg); break
      case LogLevel.INFO: this.log.debug(fields, msg); break
      default: this.log.trace(fields, msg)
    }
  }

  emit (): void { /* handle() forwards records whole; nothing is formatted to a string */ }
}

/** The lowest library level worth producing for a pino level: skips formatting work up front. */
function levelFor (log: Logger): LogLevel {
  if (log.isLevelEnabled('trace')) return LogLevel.DEBUG
  if (log.isLevelEnabled('debug')) return LogLevel.INFO
  if (log.isLevelEnabled('info')) return LogLevel.ERROR
  if (log.isLevelEnabled('warn')) return LogLevel.WARN
  return LogLevel.SILENT
}

export function quicLibraryLogger (log: Logger, name: string): MatrixLogger {
  return new MatrixLogger(name, levelFor(log), [new PinoHandler(log)])
}
