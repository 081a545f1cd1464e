/**
 * CPU cost of probing: a real `relaymesh relay` process at the centre of a star of N neighbours,
 * the leaves being in-process relays in one child process (probe-leaves.ts). The hub's CPU time
 * (utime + stime from /proc/PID/stat) is sampled over a window after a warm-up; N = 0 gives the
 * idle baseline of the same daemon.
 */
import { execFile, execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { CLI, startRelay, type RelayProcess } from '../helpers/relay-process.js'
import { forkChild, freeUdpPorts, log, nextMessage, round, sleep, track, waitExit } from './probe-util.js'

const LEAVES = fileURLToPath(new URL('./probe-leaves.js', import.meta.url))
const HUB = 'hub'

/** Clock ticks per second of /proc/PID/stat times. */
const CLK_TCK = ((): number => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    return n > 0 ? n : 100
  } catch {
    return 100
  }
})()

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which is in parentheses and may hold spaces; utime and stime
  // are fields 14 and 15 of the line, so 12th and 13th after ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) / CLK_TCK
}

export async function makeKey (dir: string): Promise<string> {
  const keyFile = join(dir, 'mesh.key')
  await promisify(execFile)(process.execPath, [CLI, 'keygen', keyFile])
  return keyFile
}

export interface HubCpu {
  neighbours: number
  cpu_pct: number
  /** Links the hub reported up before and after the window (from its /metrics). */
  links_up_before: number
  links_up_after: number
  /** Leaves that saw the hub up at the end. */
  leaves_up: number
  /** CPU of the leaves' process over the same window, for scale. */
  leaves_cpu_pct: number
  /** Link reports the hub logged at info (trigger state/threshold) during the window. */
  urgent_reports: number
  window_s: number
}

async function hubLinksUp (hub: RelayProcess): Promise<number> {
  let up = 0
  for (const [k, v] of await hub.metrics()) if (k.startsWith('relaymesh_link_up{') && v === 1) up++
  return up
}

/** Starts a hub with `n` leaves, waits for every link, warms up, then samples the hub's CPU. */
export async function measureHubCpu (dir: string, keyFile: string, n: number, warmMs: number, windowMs: number): Promise<HubCpu> {
  const ids = [HUB, ...Array.from({ length: n }, (_, i) => `n${String(i).padStart(3, '0')}`)]
  const free = await freeUdpPorts(ids.length)
  const ports = new Map(ids.map((id, i) => [id, free[i]]))
  const meshFile = join(dir, `star-${n}.json`)
  await writeFile(meshFile, JSON.stringify({
    relays: ids.map((id) => ({ id, address: `127.0.0.1:${ports.get(id) as number}` })),
    links: ids.slice(1).map((id) => [HUB, id])
  }))
  const hub = await startRelay({ dir, keyFile, meshFile, ports }, HUB)
  track(hub.proc)
  const leaves = n > 0 ? forkChild(LEAVES, [meshFile, keyFile, HUB]) : undefined
  try {
    if (leaves !== undefined) await nextMessage(leaves, 'ready', 30_000)
    const deadline = performance.now() + 20_000
    let upBefore = await hubLinksUp(hub)
    while (upBefore < n && performance.now() < deadline) {
      await sleep(250)
      upBefore = await hubLinksUp(hub)
    }
    log(`hub with ${n} neighbours: ${upBefore} links up; warming up ${warmMs / 1000} s`)
    await sleep(warmMs)
    const logFrom = hub.stderr().length
    const pid = hub.proc.pid as number
    const t0 = performance.now()
    const c0 = cpuSeconds(pid)
    const l0 = leaves === undefined ? 0 : cpuSeconds(leaves.pid as number)
    await sleep(windowMs)
    const c1 = cpuSeconds(pid)
    const l1 = leaves === undefined ? 0 : cpuSeconds(leaves.pid as number)
    const seconds = (performance.now() - t0) / 1000
    const urgent = hub.stderr().slice(logFrom).split('"link report"').length - 1
    const upAfter = await hubLinksUp(hub)
    let leavesUp = 0
    if (leaves !== undefined) {
      leaves.send({ type: 'status' })
      leavesUp = (await nextMessage<{ type: string, up: number }>(leaves, 'status', 5000)).up
    }
    return {
      neighbours: n,
      cpu_pct: round(((c1 - c0) / seconds) * 100),
      links_up_before: upBefore,
      links_up_after: upAfter,
      leaves_up: leavesUp,
      leaves_cpu_pct: round(((l1 - l0) / seconds) * 100),
      urgent_reports: urgent,
      window_s: round(seconds, 1)
    }
  } finally {
    if (leaves !== undefined) {
      if (leaves.connected) leaves.send({ type: 'stop' })
      await waitExit(leaves, 5000)
    }
    await hub.stop()
  }
}

/**
 * CPU of a bare Node process whose only work is a timer every `intervalMs`: the floor under any
 * daemon that wakes that often, whatever it does on waking.
 */
export async function measureTimerCpu (intervalMs: number, warmMs: number, windowMs: number): Promise<number> {
  const child = track(spawn(process.execPath, ['-e', `setInterval(() => {}, ${intervalMs})`], { stdio: 'ignore' }))
  try {
    await sleep(warmMs)
    const t0 = performance.now()
    const c0 = cpuSeconds(child.pid as number)
    await sleep(windowMs)
    const c1 = cpuSeconds(child.pid as number)
    return round(((c1 - c0) / ((performance.now() - t0) / 1000)) * 100)
  } finally {
    child.kill('SIGTERM')
    await waitExit(child, 2000)
  }
}
