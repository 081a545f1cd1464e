import { spawn } from 'node:child_process'

/**
 * Some commands need V8 heap settings that can only be given when Node starts (setting them from
 * inside a running process has no effect). Such a command runs its own command line again in a
 * child Node with the flag; the parent only waits, passes signals on and exits with the child's code.
 * A flag already given (on the node command line or in NODE_OPTIONS) is taken as the user's choice.
 */
export const SEMI_SPACE_FLAG = '--max-semi-space-size'

/**
 * Young-generation size (MB per semi-space) for relays. A relay keeps almost nothing alive per
 * packet, so a small young generation is cheap to scavenge: with V8's default, grown to 16 MB by
 * the allocations of startup and traffic, each scavenge paused forwarding for 0.5–5 ms, long
 * enough at 60k packets/s to overflow a socket buffer; at 1 MB it pauses for ~0.1–0.3 ms, more
 * often (docs/performance.md).
 */
export const RELAY_SEMI_SPACE_MB = 1

/**
 * Model-mode simulation keeps many objects alive for tens to hundreds of milliseconds (echoes and
 * reports in flight, figures until the next report). With V8's default 16 MB young generation they
 * outlive it, and the collections of the old generation that follow cost a sixth of a 1,000-relay
 * run (300 s against 253 s measured).
 */
export const MODEL_SEMI_SPACE_MB = 64

/** Whether Node was started with `flag` (e.g. --max-semi-space-size), directly or in NODE_OPTIONS. */
export function hasNodeFlag (flag: string): boolean {
  const given = (a: string): boolean => a === flag || a.startsWith(`${flag}=`)
  return process.execArgv.some(given) || (process.env.NODE_OPTIONS ?? '').split(/\s+/).some(given)
}

/**
 * Runs this same command line in a child Node with `flag`; resolves to its exit code. The child has
 * an IPC channel to this process so that it can stop when this process dies, even by SIGKILL
 * (see stopWithParent).
 */
export async function rerunWith (flag: string, what: string): Promise<number> {
  const child = spawn(process.execPath, [flag, ...process.execArgv, ...process.argv.slice(1)], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] })
  const forward = (sig: NodeJS.Signals): void => { child.kill(sig) }
  process.on('SIGINT', forward)
  process.on('SIGTERM', forward)
  return await new Promise((resolve) => {
    child.on('error', (err) => { process.stderr.write(`${what}: could not start itself with ${flag}: ${err.message}\n`); resolve(1) })
    child.on('exit', (code, signal) => { resolve(code ?? (signal === null ? 1 : 130)) })
  })
}

/**
 * In a child started by rerunWith: when the parent goes away (its IPC channel closes), send
 * ourselves SIGTERM, so the command stops as cleanly as if the parent had passed a signal on.
 * Does nothing in a process started any other way.
 */
export function stopWithParent (): void {
  const channel = process.channel
  if (channel === undefined) return
  channel.unref()
  process.once('disconnect', () => { process.kill(process.pid, 'SIGTERM') })
}
