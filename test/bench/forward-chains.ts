/**
 * The processes of the forwarding benchmark (forward.ts): the relay and bare chains, the child
 * process bookkeeping (the C generator and sinks of c-tools.ts are children too), and the CPU accounting that tells our own work from other processes' on a shared machine.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import dgram from 'node:dgram'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { relayNodeArgs } from '../../src/heap-flags.js'
import type { CSink } from './c-tools.js'

/** Datagram size the generator sends. */
export const PAYLOAD_BYTES = 200

const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url))
const BARE_HOP = fileURLToPath(new URL('./bare-hop.js', import.meta.url))
const HOST = '127.0.0.1'

export function log (msg: string): void {
  process.stderr.write(`bench: ${msg}\n`)
}

// ---- child processes ------------------------------------------------------------------------

const children = new Set<ChildProcess>()

export function spawnChild (args: string[], stdio: Array<'ignore' | 'pipe' | 'inherit'>, env?: Record<string, string>): ChildProcess {
  return spawnProgram(process.execPath, args, stdio, env)
}

/** Starts a child that is stopped with the others and whose CPU counts as the bench's own. */
export function spawnProgram (file: string, args: string[], stdio: Array<'ignore' | 'pipe' | 'inherit'>, env?: Record<string, string>): ChildProcess {
  const p = spawn(file, args, { stdio, env: env === undefined ? process.env : { ...process.env, ...env } })
  children.add(p)
  p.once('exit', () => { children.delete(p) })
  return p
}

/** SIGTERM every child, SIGKILL what is still alive after `graceMs`. */
export async function stopChildren (graceMs = 5000): Promise<void> {
  const live = [...children].filter((p) => p.exitCode === null && p.signalCode === null)
  const exited = live.map(async (p) => { await new Promise((resolve) => { p.once('exit', resolve) }) })
  for (const p of live) p.kill('SIGTERM')
  const timer = setTimeout(() => { for (const p of live) p.kill('SIGKILL') }, graceMs)
  await Promise.all(exited)
  clearTimeout(timer)
}

export function killChildrenNow (): void {
  for (const p of children) p.kill('SIGKILL')
}

async function freeUdpPort (): Promise<number> {
  const s = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => { s.bind(0, HOST, resolve) })
  const port = s.address().port
  await new Promise<void>((resolve) => { s.close(() => { resolve() }) })
  return port
}

async function freeTcpPort (): Promise<number> {
  const srv = net.createServer()
  await new Promise<void>((resolve) => { srv.listen(0, HOST, resolve) })
  const port = (srv.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => { srv.close(() => { resolve() }) })
  return port
}

/** Resolves with the first stdout/stderr line `match` accepts; rejects if the child exits first. */
async function waitForLine<T> (p: ChildProcess, stream: 'stdout' | 'stderr', what: string, match: (line: string) => T | undefined): Promise<T> {
  const s = p[stream]
  if (s === null) throw new Error(`${what}: no ${stream} pipe`)
  s.setEncoding('utf8')
  let buffered = ''
  let all = ''
  return await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => { done(); reject(new Error(`${what} did not start within 15 s: ${all}`)) }, 15_000)
    const onExit = (code: number | null): void => { done(); reject(new Error(`${what} exited with ${String(code)}: ${all}`)) }
    const onData = (d: string): void => {
      all += d
      buffered += d
      let nl: number
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        const v = match(line)
        if (v !== undefined) { done(); resolve(v); return }
      }
    }
    const done = (): void => { clearTimeout(timer); s.off('data', onData); p.off('exit', onExit) }
    s.on('data', onData)
    p.once('exit', onExit)
  })
}

export /** Node flags that make a child write a CPU profile into `profDir` when it exits. */
function profArgs (profDir: string | undefined, name: string): string[] {
  return profDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${name}.cpuprofile`]
}

// ---- the two chains -------------------------------------------------------------------------

export interface Chain {
  /** relay: wire v2 as it runs; clear: the same with the payload AEAD switched off; bare: node:dgram hops. */
  name: 'relay' | 'clear' | 'bare'
  /** Where the generator sends. */
  entryPort: number
  /** Hop processes in path order. */
  hops: ChildProcess[]
  sink: CSink
  /** Relay metrics URLs (relay chain only). */
  metricsUrls: string[]
}

/**
 * The relay chain. `clear` switches the payload AEAD off (RELAYMESH_TEST_CLEAR_PAYLOADS=1, a
 * test-only setting): everything else, link tags included, runs as usual.
 */
/** RELAYMESH_BENCH_TUNNEL_CLASS=audio: the chain's tunnel in that class, so relays keep its packets for recovery. */
const TUNNEL_CLASS = process.env.RELAYMESH_BENCH_TUNNEL_CLASS

export async function startRelayChain (dir: string, keyFile: string, sink: CSink, profDir?: string, clear = false): Promise<Chain> {
  const ids = ['a', 'b', 'c']
  const name = clear ? 'clear' : 'relay'
  for (let attempt = 1; ; attempt++) {
    const ports = [await freeUdpPort(), await freeUdpPort(), await freeUdpPort()]
    const meshFile = join(dir, `mesh-${name}.json`)
    await writeFile(meshFile, JSON.stringify({
      relays: ids.map((id, i) => ({ id, address: `${HOST}:${ports[i]}` })),
      links: [['a', 'b'], ['b', 'c']]
    }))
    const hops: ChildProcess[] = []
    const metricsUrls: string[] = []
    try {
      let entryPort = 0
      for (const [i, id] of ids.entries()) {
        const http = await freeTcpPort()
        metricsUrls.push(`http://${HOST}:${http}/metrics`)
        // The young-generation size `relaymesh relay` would re-run itself with, given here so that
        // it does not: the pid the bench measures is then the relay itself, not an idle parent.
        const args = [...relayNodeArgs(), ...profArgs(profDir, `${name}-${id}`), CLI, 'relay', '--id', id, '--listen', `${HOST}:${ports[i]}`,
          '--static', meshFile, '--mesh-key-file', keyFile, '--http', `${HOST}:${http}`]
        // One generator drives the whole chain: no per-source rate limit at the ingress.
        if (id === 'a') args.push('--tunnel', `${HOST}:0@c=${HOST}:${sink.port}${TUNNEL_CLASS === undefined ? '' : `,class=${TUNNEL_CLASS}`}`, '--tunnel-source-rate', '0')
        // RELAYMESH_BENCH_RECOVERY=off: per-hop recovery switched off, the baseline of its cost.
        if (process.env.RELAYMESH_BENCH_RECOVERY === 'off') args.push('--recovery', 'off')
        if (id === 'c') args.push('--egress-allow', `${HOST}/32:${sink.port}`)
        const p = spawnChild(args, ['ignore', 'ignore', 'pipe'], clear ? { RELAYMESH_TEST_CLEAR_PAYLOADS: '1' } : undefined)
        hops.push(p)
        const started = await waitForLine(p, 'stderr', `${name} ${id}`, (line) => {
          if (!line.includes('"relay started"')) return undefined
          return JSON.parse(line) as { tunnels: Array<{ listen: { port: number } }> }
        })
        if (id === 'a') entryPort = started.tunnels[0].listen.port
        // Keep draining stderr so a chatty relay never blocks on a full pipe.
        p.stderr?.resume()
      }
      return { name, entryPort, hops, sink, metricsUrls }
    } catch (err) {
      for (const p of hops) p.kill('SIGKILL')
      // A port picked free a moment ago can be taken by the time the relay binds it.
      if (attempt >= 3 || !String(err).includes('EADDRINUSE')) throw err
      log(`relay start failed (${attempt}), retrying with new ports`)
    }
  }
}

export async function startBareChain (sink: CSink, profDir?: string): Promise<Chain> {
  // Started from the end so each hop is told the port of the one after it.
  const hops: ChildProcess[] = []
  let next = sink.port
  for (let i = 3; i >= 1; i--) {
    const p = spawnChild([...profArgs(profDir, `bare-${i}`), BARE_HOP, String(next)], ['pipe', 'pipe', 'inherit'])
    next = await waitForLine(p, 'stdout', `bare hop ${i}`, (line) => (/^\d+$/.test(line) ? Number(line) : undefined))
    hops.unshift(p)
  }
  return { name: 'bare', entryPort: next, hops, sink, metricsUrls: [] }
}

// ---- CPU accounting -------------------------------------------------------------------------

/** On-CPU nanoseconds of a process, all its threads (Linux schedstat). NaN where unavailable. */
export async function cpuNs (pid: number | undefined): Promise<number> {
  if (pid === undefined) return NaN
  try {
    let sum = 0
    for (const t of await readdir(`/proc/${pid}/task`)) {
      sum += Number((await readFile(`/proc/${pid}/task/${t}/schedstat`, 'utf8')).split(' ')[0])
    }
    return sum
  } catch {
    return NaN
  }
}

/** CPU time the whole machine spent busy (/proc/stat, all CPUs), ns. NaN where unavailable. */
async function machineBusyNs (): Promise<number> {
  try {
    const f = (await readFile('/proc/stat', 'utf8')).split('\n')[0].trim().split(/\s+/).map(Number)
    // cpu user nice system idle iowait irq softirq steal …, in USER_HZ (100 on Linux) ticks.
    return (f[1] + f[2] + f[3] + f[6] + f[7] + f[8]) * 1e7
  } catch {
    return NaN
  }
}

/** On-CPU time of this process and every child, ns. */
async function oursNs (): Promise<number> {
  const pids = [process.pid, ...[...children].map((p) => p.pid)]
  const each = await Promise.all(pids.map(async (pid) => await cpuNs(pid)))
  return each.reduce((a, b) => a + (Number.isNaN(b) ? 0 : b), 0)
}

export interface Snapshot { at: bigint, busy: number, ours: number }

export async function snapshot (): Promise<Snapshot> {
  const [busy, ours] = await Promise.all([machineBusyNs(), oursNs()])
  return { at: process.hrtime.bigint(), busy, ours }
}

/** CPUs' worth of work done by processes not ours between two snapshots. */
export function foreignCpus (a: Snapshot, b: Snapshot): number {
  const f = ((b.busy - a.busy) - (b.ours - a.ours)) / Number(b.at - a.at)
  return Number.isNaN(f) ? 0 : Math.max(0, f)
}

export async function relayDrops (chain: Chain): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const [i, url] of chain.metricsUrls.entries()) {
    try {
      const text = await (await fetch(url)).text()
      for (const line of text.split('\n')) {
        const m = /^relaymesh_packets_dropped_total\{reason="([a-z_]+)"\} (\d+)/.exec(line)
        if (m !== null && Number(m[2]) > 0) out[`${'abc'[i]}_${m[1]}`] = Number(m[2])
      }
    } catch { /* metrics are a diagnostic only */ }
  }
  return out
}
