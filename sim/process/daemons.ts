import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { HostPort } from '../../src/transport/address.js'
import { relayNodeArgs } from '../../src/heap-flags.js'

/** The relaymesh CLI this build ships; process mode runs the real daemons through it. */
export const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url))

/** What a daemon wrote on its --ready-fd: its bound addresses (docs/cli.md). */
export type StartInfo = Record<string, unknown>

/** The descriptor daemons started here write their ready line to. */
export const READY_FD = 3

/** spawn() stdio for a daemon given `--ready-fd READY_FD`: stderr and the ready descriptor piped. */
export const READY_STDIO: ['ignore', 'ignore', 'pipe', 'pipe'] = ['ignore', 'ignore', 'pipe', 'pipe']

/**
 * Resolves with the JSON line a daemon started with `--ready-fd 3` (and READY_STDIO) writes once its
 * sockets are bound; rejects if it exits first or `timeoutMs` passes. `log` gives what it logged so
 * far, for the error message.
 */
export async function readyLine (proc: ChildProcess, name: string, timeoutMs: number, log: () => string): Promise<StartInfo> {
  const stream = proc.stdio[READY_FD] as NodeJS.ReadableStream | null
  if (stream === null || stream === undefined) throw new Error(`${name}: spawn it with stdio fd ${READY_FD} piped`)
  return await new Promise<StartInfo>((resolve, reject) => {
    let text = ''
    let settled = false
    const finish = (err: Error | undefined, line?: StartInfo): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (err !== undefined) reject(err); else resolve(line as StartInfo)
    }
    const timer = setTimeout(() => { finish(new Error(`${name} was not ready within ${timeoutMs} ms: ${log().slice(-500)}`)) }, timeoutMs)
    stream.setEncoding('utf8')
    stream.on('data', (d: string) => {
      text += d
      const nl = text.indexOf('\n')
      if (nl < 0) return
      try { finish(undefined, JSON.parse(text.slice(0, nl)) as StartInfo) } catch { finish(new Error(`${name} wrote a ready line that is not JSON: ${text.slice(0, nl)}`)) }
    })
    proc.once('exit', (code, signal) => { finish(new Error(`${name} exited (${String(code ?? signal)}) before it was ready: ${log().slice(-500)}`)) })
  })
}

/** Every daemon process still running; killed if this process exits first, so none is orphaned. */
const live = new Set<ChildProcess>()
process.once('exit', () => { killAllDaemons() })

/** Kills every daemon this process started that is still running (for signal handlers and exit). */
export function killAllDaemons (): void {
  for (const p of live) p.kill('SIGKILL')
}

/** A line of a daemon's JSON log (pino). */
export interface LogLine { msg?: string, time?: number, [k: string]: unknown }

/**
 * One real daemon process (`relaymesh controller` or `relaymesh relay`), started with fixed
 * arguments so it can be killed and started again on the same ports. Its JSON log lines go to
 * `onLog`; start() resolves with what it wrote on --ready-fd once its sockets were bound.
 */
export class Daemon {
  readonly name: string
  private args: string[]
  private readonly onLog: (line: LogLine) => void
  private proc: ChildProcess | undefined
  private tail = ''

  constructor (name: string, args: string[], onLog: (line: LogLine) => void = () => {}) {
    this.name = name
    this.args = args
    this.onLog = onLog
  }

  get running (): boolean { return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null }

  /** Replaces an argument's value for the next start (e.g. pin a port chosen at the first start). */
  pin (flag: string, value: string): void {
    const i = this.args.indexOf(flag)
    if (i >= 0) this.args[i + 1] = value
  }

  /** Replaces one whole argument for the next start. */
  replaceArg (old: string, next: string): void {
    const i = this.args.indexOf(old)
    if (i >= 0) this.args[i] = next
  }

  async start (timeoutMs = 20_000): Promise<StartInfo> {
    if (this.running) throw new Error(`${this.name} is already running`)
    // A relay gets its young-generation flag here, so it does not re-run itself: the process this
    // harness kills and restarts on the same ports is then the relay itself (cli/rerun.ts).
    const node = this.args[0] === 'relay' ? relayNodeArgs() : []
    const proc = spawn(process.execPath, [...node, CLI, ...this.args, '--ready-fd', String(READY_FD)], { stdio: READY_STDIO })
    this.proc = proc
    live.add(proc)
    proc.once('exit', () => { live.delete(proc) })
    let buf = ''
    let recent = ''
    proc.stderr?.setEncoding('utf8')
    proc.stderr?.on('data', (d: string) => {
      buf += d
      recent = (recent + d).slice(-2000)
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const text = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        let line: LogLine
        try { line = JSON.parse(text) as LogLine } catch { continue }
        this.onLog(line)
      }
    })
    proc.once('exit', () => { this.tail = recent })
    return await readyLine(proc, this.name, timeoutMs, () => recent)
  }

  /** SIGKILL: the way a crash or a pulled plug ends a process. */
  async kill (): Promise<void> { await this.signal('SIGKILL') }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop (graceMs = 5000): Promise<void> {
    const proc = this.proc
    if (proc === undefined || !this.running) return
    const t = setTimeout(() => { proc.kill('SIGKILL') }, graceMs)
    await this.signal('SIGTERM')
    clearTimeout(t)
  }

  /** The last stderr output, for error messages. */
  lastOutput (): string { return this.tail }

  private async signal (sig: NodeJS.Signals): Promise<void> {
    const proc = this.proc
    if (proc === undefined || !this.running) return
    const done = new Promise<void>((resolve) => { proc.once('exit', () => { resolve() }) })
    proc.kill(sig)
    await done
  }
}

export function hostPortOf (v: unknown): HostPort {
  const o = v as { host?: unknown, port?: unknown, family?: unknown }
  if (typeof o?.host !== 'string' || typeof o.port !== 'number') throw new Error(`not an address: ${JSON.stringify(v)}`)
  return { host: o.host, port: o.port, family: o.family === 6 ? 6 : 4 }
}
