/** Small helpers shared by the probing benchmark's parts (probe.ts, probe-cpu.ts). */
import { fork, type ChildProcess } from 'node:child_process'
import dgram from 'node:dgram'

export function log (msg: string): void {
  process.stderr.write(`bench probe: ${msg}\n`)
}

export const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

export function round (x: number, digits = 2): number {
  return Math.round(x * 10 ** digits) / 10 ** digits
}

/** Nearest-rank percentile of `xs` (p in 0–100); NaN for an empty list. */
export function percentile (xs: number[], p: number): number {
  if (xs.length === 0) return NaN
  const sorted = [...xs].sort((x, y) => x - y)
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]
}

/** Every child process still alive; killed on exit, so none outlives the benchmark. */
const children = new Set<ChildProcess>()

export function track (child: ChildProcess): ChildProcess {
  children.add(child)
  child.once('exit', () => { children.delete(child) })
  return child
}

/** Forks a bench child with IPC, its stderr passed through, and tracks it. */
export function forkChild (script: string, args: string[]): ChildProcess {
  return track(fork(script, args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }))
}

export function killChildren (): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
}

/** Resolves with the first IPC message of `type` from `child`; rejects if it exits first. */
export async function nextMessage<T extends { type: string }> (child: ChildProcess, type: string, timeoutMs: number): Promise<T> {
  return await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => { finish(); reject(new Error(`no '${type}' message from child ${String(child.pid)} within ${timeoutMs} ms`)) }, timeoutMs)
    const onMessage = (msg: T): void => { if (msg.type === type) { finish(); resolve(msg) } }
    const onExit = (code: number | null): void => { finish(); reject(new Error(`child ${String(child.pid)} exited with ${String(code)} before sending '${type}'`)) }
    const finish = (): void => {
      clearTimeout(timer)
      child.off('message', onMessage as never)
      child.off('exit', onExit)
    }
    child.on('message', onMessage as never)
    child.once('exit', onExit)
  })
}

/** Waits for a child to exit, killing it after `graceMs`. */
export async function waitExit (child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => { child.kill('SIGKILL') }, graceMs)
    child.once('exit', () => { clearTimeout(timer); resolve() })
  })
}

/**
 * `n` distinct UDP ports that were free a moment ago on 127.0.0.1. The sockets stay bound until all
 * are picked, so that the kernel cannot hand out one port twice.
 */
export async function freeUdpPorts (n: number): Promise<number[]> {
  const sockets = await Promise.all(Array.from({ length: n }, async () => {
    const s = dgram.createSocket('udp4')
    await new Promise<void>((resolve) => { s.bind(0, '127.0.0.1', resolve) })
    return s
  }))
  const ports = sockets.map((s) => s.address().port)
  await Promise.all(sockets.map(async (s) => { await new Promise<void>((resolve) => { s.close(() => { resolve() }) }) }))
  return ports
}
