#!/usr/bin/env node
import { Command } from 'commander'
import { VERSION, reportError } from './common.js'

/**
 * The subcommands, each loaded only when it runs (or when its own help is asked for), so that a
 * daemon does not carry the code and heap of every other command: a relay that loaded them all
 * started with ~3x the heap, and V8 grew its young generation to match, so every scavenge paused it
 * longer (docs/performance.md). `summary` is what top-level --help lists; it matches the command's
 * own description (a test checks).
 */
export const SUBCOMMANDS: ReadonlyArray<{ name: string, summary: string, load: () => Promise<Command> }> = [
  { name: 'demo', summary: 'run a whole mesh on this machine: a controller, five relays with emulated links, live traffic and impairments', load: async () => (await import('./commands/demo.js')).demoCommand() },
  { name: 'relay', summary: 'run a relay daemon: forwards mesh packets, delivers them to local services, runs UDP tunnels', load: async () => (await import('./commands/relay.js')).relayCommand() },
  { name: 'controller', summary: 'run the path controller: takes link reports, computes routes, pushes forwarding tables to relays', load: async () => (await import('./commands/controller.js')).controllerCommand() },
  { name: 'keygen', summary: 'write a new mesh key file: one line, base64 of 32 random bytes, mode 0600', load: async () => (await import('./commands/keygen.js')).keygenCommand() },
  { name: 'impair', summary: 'a user-space impaired UDP hop: forwards --listen to --to with loss, delay, jitter and a rate limit; replies come back impaired too', load: async () => (await import('./commands/impair.js')).impairCommand() },
  { name: 'topology', summary: 'show the mesh as the controller sees it: relays, measured links, routes, or the path between two relays', load: async () => (await import('./commands/topology.js')).topologyCommand() },
  { name: 'sim', summary: 'run a link-quality scenario and report delivered loss, latency, path changes and convergence against the direct path', load: async () => (await import('./commands/sim.js')).simCommand() }
]

/** The subcommand an argument list runs, or asks help for (`help relay`); undefined for none. */
export function chosenSubcommand (args: string[]): string | undefined {
  const words = args.filter((a) => !a.startsWith('-'))
  const first = words[0] === 'help' ? words[1] : words[0]
  return SUBCOMMANDS.some((c) => c.name === first) ? first : undefined
}

/** Joins commander's multi-line errors into one line and points at --help. */
function oneLine (text: string, cmdName: string): string {
  const line = text.trim().split('\n').map((s) => s.trim()).filter((s) => s !== '').join(' ')
  const hint = line.includes('Did you mean') ? '' : ` (see 'relaymesh ${cmdName}--help')`
  return `relaymesh: ${line}${hint}\n`
}

/**
 * The program with the subcommand `args` name loaded in full (all of them if `load` is 'all') and
 * the others as stubs that only name themselves for --help and "Did you mean".
 */
export async function buildProgram (args: string[], load: 'chosen' | 'all' = 'chosen'): Promise<Command> {
  const program = new Command('relaymesh')
    .description('relaymesh: an overlay relay mesh for real-time media. Relays measure their links, a controller computes routes, and packets travel hop by hop, authenticated.')
    .version(VERSION, '-V, --version', 'print the version')
    .showSuggestionAfterError(true)
    .addHelpText('after', `
Start here:
  relaymesh demo                     a whole mesh on this machine, live, with no setup
  relaymesh keygen mesh.key          create the mesh's shared key
  relaymesh controller --help        run the path controller
  relaymesh relay --help             run a relay, following a controller or a static mesh file

Docs: README.md and docs/ in the repository.`)
  const chosen = chosenSubcommand(args)
  for (const c of SUBCOMMANDS) {
    program.addCommand(load === 'all' || c.name === chosen ? await c.load() : new Command(c.name).description(c.summary))
  }
  const configure = (cmd: Command, prefix: string): void => {
    cmd.exitOverride()
    cmd.configureOutput({ outputError: (str, write) => { write(oneLine(str, prefix)) } })
    for (const sub of cmd.commands) configure(sub, `${prefix}${sub.name()} `)
  }
  configure(program, '')
  return program
}

async function main (): Promise<void> {
  // A reader that went away (`relaymesh controller --help | head`) is no error of ours: what is
  // left to print has nowhere to go. Unhandled, it ended the process with a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') process.stderr.write(`relaymesh: cannot write to standard output: ${err.message}\n`)
  })
  try {
    await (await buildProgram(process.argv.slice(2))).parseAsync(process.argv)
  } catch (err) {
    const code = (err as { code?: string }).code
    if (typeof code === 'string' && code.startsWith('commander.')) {
      const exit = (err as { exitCode?: number }).exitCode ?? 2
      process.exitCode = code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help' ? 0 : (exit === 1 ? 2 : exit)
      return
    }
    process.exitCode = reportError(err)
  }
}

void main()
