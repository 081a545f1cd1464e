import { pino, type Logger } from 'pino'
import pretty from 'pino-pretty'

export type { Logger }

export interface LoggerOptions {
  level?: string
  /** Human-readable output; defaults to true when stderr is a terminal. */
  pretty?: boolean
}

/** Logs go to stderr, always: stdout is reserved for command output such as --json. */
export function createLogger (opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.RELAYMESH_LOG_LEVEL ?? 'info'
  const usePretty = opts.pretty ?? process.stderr.isTTY === true
  if (usePretty) {
    return pino({ level }, pretty({ destination: 2, sync: true, colorize: true, translateTime: 'HH:MM:ss.l' }))
  }
  return pino({ level }, pino.destination({ dest: 2, sync: false }))
}

/** A logger that drops everything; for tests. */
export function silentLogger (): Logger {
  return pino({ level: 'silent' })
}
