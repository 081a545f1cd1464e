import { pino, type Logger } from 'pino'

export interface CapturedLine { level: number, msg: string, [field: string]: unknown }

/** A logger that keeps every line it is given (debug and up), for tests that assert on warnings. */
export function captureLogger (): { logger: Logger, lines: CapturedLine[], warnings: () => CapturedLine[] } {
  const lines: CapturedLine[] = []
  const logger = pino({ level: 'debug' }, { write: (s: string) => { lines.push(JSON.parse(s) as CapturedLine) } })
  return { logger, lines, warnings: () => lines.filter((l) => l.level === 40) }
}
