import { spawn, type StdioOptions } from 'node:child_process'
import { closeSync } from 'node:fs'

export { MODEL_SEMI_SPACE_MB, RELAY_SEMI_SPACE_MB, SEMI_SPACE_FLAG } from '../src/heap-flags.js'

/**
 * Some commands need V8 heap settings that can only be given when Node starts (setting them from
 * inside a running process has no effect). Such a command runs its own command line again in a
 * child Node with the flag; the parent only waits, passes signals on and exits with the child's code.
 * A flag already given (on the node command line or in NODE_OPTIONS) is taken as the user's choice.
 */

/** Whether Node was started with `flag` (e.g. --max-semi-space-size), directly or in NODE_OPTIONS. */
export function hasNodeFlag (flag: string): boolean {
  const given = (a: string): boolean => a === flag || a.startsWith(`${flag}=`)
  return process.execArgv.some(given) || (process.env.NODE_OPTIONS ?? '').split(/\s+/).some(given)
}

/**
 * Runs this same command line in a child Node with `flag`; resolves to its exit code. The child has
 * an IPC channel to this process so that it can end when this process dies, even by SIGKILL
 * (see endWithParent). Descriptors in `passFds` (a --ready-fd) go to the child under the same
 * numbers, and this process closes its own copies, so a reader sees EOF when the child closes them.
 */
export async function rerunWith (flag: string, what: string, passFds: number[] = []): Promise<number> {
  const stdio: Array<'inherit' | 'ignore' | 'ipc' | number> = ['inherit', 'inherit', 'inherit']
  for (const fd of passFds) {
    while (stdio.length <= fd) stdio.push('ignore')
    stdio[fd] = fd
  }
  const free = stdio.indexOf('ignore')
  if (free < 0) stdio.push('ipc'); else stdio[free] = 'ipc'
  const child = spawn(process.execPath, [flag, ...process.execArgv, ...process.argv.slice(1)], { stdio: stdio as StdioOptions })
  for (const fd of passFds) if (fd > 2) closeSync(fd)
  const forward = (sig: NodeJS.Signals): void => { child.kill(sig) }
  process.on('SIGINT', forward)
  process.on('SIGTERM', forward)
  // A reload (relay --identity); left to its default, it would end the parent and so the child.
  process.on('SIGHUP', forward)
  return await new Promise((resolve) => {
    child.on('error', (err) => { process.stderr.write(`${what}: could not start itself with ${flag}: ${err.message}\n`); resolve(1) })
    child.on('exit', (code, signal) => { resolve(code ?? (signal === null ? 1 : 130)) })
  })
}

/**
 * In a child started by rerunWith: when the parent goes away (its IPC channel closes), end at once,
 * as the parent did. A parent that was stopped by a signal passes it on first, so only a parent
 * that was killed outright (SIGKILL, a crash) gets here, and the child ends the same way: no clean
 * shutdown, no state flushed, which is what whoever killed the parent asked for. Does nothing in a
 * process started any other way.
 */
export function endWithParent (): void {
  const channel = process.channel
  if (channel === undefined) return
  channel.unref()
  process.once('disconnect', () => { process.kill(process.pid, 'SIGKILL') })
}
