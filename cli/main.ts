#!/usr/bin/env node
import { Command } from 'commander'
import { controllerCommand } from './commands/controller.js'
import { demoCommand } from './commands/demo.js'
import { relayCommand } from './commands/relay.js'
import { simCommand } from './commands/sim.js'
import { keygenCommand } from './commands/keygen.js'
import { impairCommand } from './commands/impair.js'
import { topologyCommand } from './commands/topology.js'
import { VERSION, reportError } from './common.js'

/** Joins commander's multi-line errors into one line and points at --help. */
function oneLine (text: string, cmdName: string): string {
  const line = text.trim().split('\n').map((s) => s.trim()).filter((s) => s !== '').join(' ')
  const hint = line.includes('Did you mean') ? '' : ` (see 'relaymesh ${cmdName}--help')`
  return `relaymesh: ${line}${hint}\n`
}

export function buildProgram (): Command {
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
  for (const cmd of [demoCommand(), relayCommand(), controllerCommand(), keygenCommand(), impairCommand(), topologyCommand(), simCommand()]) program.addCommand(cmd)
  const configure = (cmd: Command, prefix: string): void => {
    cmd.exitOverride()
    cmd.configureOutput({ outputError: (str, write) => { write(oneLine(str, prefix)) } })
    for (const sub of cmd.commands) configure(sub, `${prefix}${sub.name()} `)
  }
  configure(program, '')
  return program
}

async function main (): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv)
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
