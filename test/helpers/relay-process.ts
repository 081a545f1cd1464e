import { execFile, spawn, type ChildProcess } from 'node:child_process'
import dgram from 'node:dgram'
import { mkdtemp, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { relayNodeArgs } from '../../src/heap-flags.js'
import { generateMeshKeyText } from '../../src/mesh-key.js'
import { READY_FD, READY_STDIO, readyLine, type StartInfo } from '../../sim/process/daemons.js'

/** The compiled CLI entry point. */
export const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url))

/** Runs the built CLI to completion; never rejects, whatever the exit code. */
export async function runCli (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args])
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

/** A UDP port that was free a moment ago on 127.0.0.1. */
export async function freeUdpPort (): Promise<number> {
  const s = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => { s.bind(0, '127.0.0.1', resolve) })
  const port = s.address().port
  await new Promise<void>((resolve) => { s.close(() => { resolve() }) })
  return port
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freeTcpPort (): Promise<number> {
  const srv = net.createServer()
  await new Promise<void>((resolve) => { srv.listen(0, '127.0.0.1', resolve) })
  const port = (srv.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => { srv.close(() => { resolve() }) })
  return port
}

export interface MeshDir {
  dir: string
  keyFile: string
  meshFile: string
  /** relay id → mesh UDP port on 127.0.0.1 */
  ports: Map<string, number>
}

/** A temp dir with a fresh mesh key and a static mesh file for the given relays and links. */
export async function makeMeshDir (ids: string[], links: Array<[string, string]>): Promise<MeshDir> {
  const dir = await mkdtemp(join(tmpdir(), 'relaymesh-test-'))
  const keyFile = join(dir, 'mesh.key')
  await writeFile(keyFile, generateMeshKeyText(), { mode: 0o600 })
  const ports = new Map<string, number>()
  for (const id of ids) ports.set(id, await freeUdpPort())
  const meshFile = join(dir, 'mesh.json')
  await writeFile(meshFile, JSON.stringify({
    relays: ids.map((id) => ({ id, address: `127.0.0.1:${ports.get(id) as number}` })),
    links
  }))
  return { dir, keyFile, meshFile, ports }
}

export interface RelayProcess {
  id: string
  proc: ChildProcess
  /** Base URL of its HTTP endpoint. */
  httpUrl: string
  /** What it wrote on --ready-fd: its bound addresses. */
  ready: StartInfo
  /** Everything it logged so far. */
  stderr: () => string
  metrics: () => Promise<Map<string, number>>
  /** Sends SIGTERM and waits for exit; resolves with the exit code. */
  stop: () => Promise<number | null>
}

/** Starts `relaymesh relay` as a real process and waits for the line it writes on --ready-fd. */
export async function startRelay (mesh: MeshDir, id: string, extra: string[] = [], env?: Record<string, string>): Promise<RelayProcess> {
  // With its young-generation flag given the relay does not re-run itself, so `proc` is the relay.
  const args = [...relayNodeArgs(), CLI, 'relay', '--id', id, '--listen', `127.0.0.1:${mesh.ports.get(id) as number}`,
    '--static', mesh.meshFile, '--mesh-key-file', mesh.keyFile, '--http', '127.0.0.1:0', '--ready-fd', String(READY_FD), ...extra]
  const proc = spawn(process.execPath, args, { stdio: READY_STDIO, env: env === undefined ? process.env : { ...process.env, ...env } })
  let log = ''
  proc.stderr?.setEncoding('utf8')
  proc.stderr?.on('data', (d: string) => { log += d })
  const ready = await readyLine(proc, `relay ${id}`, 20_000, () => log)
  const httpUrl = `http://127.0.0.1:${(ready.http as { port: number }).port}`
  return {
    id,
    proc,
    httpUrl,
    ready,
    stderr: () => log,
    metrics: async () => parseMetrics(await (await fetch(`${httpUrl}/metrics`)).text()),
    stop: async () => {
      if (proc.exitCode !== null) return proc.exitCode
      const done = new Promise<number | null>((resolve) => { proc.once('exit', (code) => { resolve(code) }) })
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000)
      const code = await done
      clearTimeout(timer)
      return code
    }
  }
}

/** Prometheus text → map from `name{labels}` (labels as printed) to value. */
export function parseMetrics (text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const sp = line.lastIndexOf(' ')
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)))
  }
  return out
}

/** Sum of relaymesh_packets_dropped_total over every reason. */
export function totalDrops (m: Map<string, number>): number {
  let n = 0
  for (const [k, v] of m) if (k.startsWith('relaymesh_packets_dropped_total{')) n += v
  return n
}

export function dropCount (m: Map<string, number>, reason: string): number {
  return m.get(`relaymesh_packets_dropped_total{reason="${reason}"}`) ?? 0
}

/** A UDP socket bound on 127.0.0.1 that records what arrives. */
export async function udpSink (port = 0): Promise<{ socket: dgram.Socket, port: number, received: Buffer[] }> {
  const socket = dgram.createSocket('udp4')
  const received: Buffer[] = []
  socket.on('message', (m) => { received.push(m) })
  await new Promise<void>((resolve) => { socket.bind(port, '127.0.0.1', resolve) })
  // Room for bursts on a loaded machine (the kernel caps it at net.core.rmem_max).
  socket.setRecvBufferSize(4 * 1024 * 1024)
  return { socket, port: socket.address().port, received }
}

export async function waitFor (cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (await cond()) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}
