import { readFileSync } from 'node:fs'
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
