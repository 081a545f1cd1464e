import { closeSync, fstatSync, readFileSync, writeSync } from 'node:fs'
import { Command, Option } from 'commander'
import { ConfigError, RelaymeshError } from '../src/errors.js'
import { createLogger, type Logger } from '../src/logging.js'

export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version

/** Collects a repeatable option into a list. */
export function collect (value: string, previous: string[]): string[] {
  return [...previous, value]
}

/** Options every command takes. */
export function withCommonOptions (cmd: Command): Command {
  return cmd
    .option('--config <file>', 'read options from a YAML or JSON file whose keys are the long flag names; flags given here win')
    .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'))
    .hook('preAction', async (thisCommand) => {
      const file = thisCommand.opts().config as string | undefined
      // yaml is loaded only by a run that reads a config file.
      if (file !== undefined) await (await import('./config-file.js')).applyConfigFile(thisCommand, file)
    })
}

/** Adds --ready-fd, which the daemons (relay, controller, impair) take. */
export function withReadyFd (cmd: Command): Command {
  return cmd.option('--ready-fd <n>', 'when every socket is bound, write one line (a JSON object with the bound addresses) to this open file descriptor, then close it; for supervisors and scripts that must not guess from the log (docs/http-api.md)')
}

/**
 * Checks --ready-fd before the daemon binds anything, so a descriptor that is not open fails at
 * start-up with a one-line error instead of after the sockets are up.
 */
export function parseReadyFd (text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 65_535) {
    throw new ConfigError(`--ready-fd '${text}' is not a file descriptor number; give one the parent opened for writing, e.g. --ready-fd 3 with 3>ready.json`)
  }
  const fd = Number(text)
  try {
    fstatSync(fd)
  } catch {
    throw new ConfigError(`--ready-fd ${fd} is not an open file descriptor; start relaymesh with it open for writing (e.g. 3>ready.json for --ready-fd 3), or drop --ready-fd`)
  }
  return fd
}

/**
 * Writes the one ready line and closes the descriptor, so a reader sees the line and then EOF.
 * Call it only once everything in `addresses` is bound and answers.
 */
export function writeReadyLine (fd: number | undefined, addresses: Record<string, unknown>, log: Logger): void {
  if (fd === undefined) return
  try {
    writeSync(fd, JSON.stringify({ pid: process.pid, ...addresses }) + '\n')
    // stdout and stderr stay open: logs and --json output still go there.
    if (fd > 2) closeSync(fd)
  } catch (err) {
    // A reader that went away (EPIPE) must not take down a daemon that is up and serving.
    log.warn({ readyFd: fd, err: (err as Error).message }, 'could not write the ready line')
  }
}

export function loggerFor (opts: { logLevel?: string }): Logger {
  return createLogger({ level: opts.logLevel })
}

/**
 * Runs until SIGINT or SIGTERM, then calls stop() once. A second signal exits at once, for the
 * user whose clean shutdown hangs.
 */
export function untilSignal (stop: () => Promise<void>, log: Logger): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.warn({ signal }, 'second signal, exiting now')
        process.exit(130)
      }
      stopping = true
      log.info({ signal }, 'shutting down')
      stop().then(resolve, (err: Error) => {
        log.error({ err: err.message }, 'error during shutdown')
        resolve()
      })
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}

/** Prints an error as one line and picks the exit code: 2 for usage and config, 1 otherwise. */
export function reportError (err: unknown): number {
  if (err instanceof ConfigError) {
    process.stderr.write(`relaymesh: error: ${err.message}\n`)
    return 2
  }
  if (err instanceof RelaymeshError) {
    process.stderr.write(`relaymesh: error: ${err.message} [${err.code}]\n`)
    return 1
  }
  process.stderr.write(`relaymesh: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  return 1
}
