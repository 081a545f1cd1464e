/**
 * Pure pieces of bench:controller (test/bench/controller.ts): the synthetic mesh the clients
 * report on, which links routes use most, percentiles, and a process's CPU and RSS from /proc.
 * Also the messages between the bench and its client processes (controller-clients.ts).
 */
import { readdirSync, readlinkSync, readFileSync } from 'node:fs'
import { Prng } from '../../src/prng.js'
import type { HostPort } from '../../src/transport/address.js'

/** Relay ids r0000, r0001, …: their number is their index, so tables pack into index arrays. */
export function relayId (i: number): string { return `r${String(i).padStart(4, '0')}` }
export function relayIndex (id: string): number { return Number(id.slice(1)) }

/**
 * Where relay `i` sits on a unit square: RTT between two relays grows with their distance, so the
 * controller's nearest-by-RTT selection finds a geographic mesh, with random long links on top.
 */
function position (i: number, seed: number): [number, number] {
  const r = new Prng((seed * 7_919 + i * 104_729) >>> 0)
  return [r.next(), r.next()]
}

/** Synthetic link figures: RTT 2–150 ms by distance, a little jitter, no loss. */
export class SyntheticMesh {
  private readonly xy: Array<[number, number]>
  constructor (n: number, seed: number) {
    this.xy = Array.from({ length: n }, (_v, i) => position(i, seed))
  }

  rttMs (a: number, b: number): number {
    const [ax, ay] = this.xy[a]; const [bx, by] = this.xy[b]
    return 2 + 105 * Math.hypot(ax - bx, ay - by)
  }
}

/**
 * How many (source, destination) routes cross each directed link a→b, from every relay's table
 * (`next[a][d]` = index of a's next hop toward d, or -1). Walks each route; a loop or a dead end
 * stops the walk (counted in `broken`).
 */
export function linkUsage (next: Int16Array[]): { usage: Map<string, number>, broken: number } {
  const n = next.length
  const usage = new Map<string, number>()
  let broken = 0
  for (let d = 0; d < n; d++) {
    for (let s = 0; s < n; s++) {
      if (s === d) continue
      let x = s
      let hops = 0
      while (x !== d) {
        const nh = next[x]?.[d] ?? -1
        if (nh < 0 || ++hops > n) { broken++; break }
        const k = `${x}>${nh}`
        usage.set(k, (usage.get(k) ?? 0) + 1)
        x = nh
      }
    }
  }
  return { usage, broken }
}

/** The p-th percentile (nearest rank) of xs; NaN when empty. */
export function percentile (xs: number[], p: number): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)]
}

/** Clock ticks per second of /proc/PID/stat times (USER_HZ: 100 on every Linux port in use). */
const USER_HZ = 100

/** CPU seconds (user + system, all threads) a process has used so far. */
export function cpuSeconds (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which may hold spaces, closed by the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) / USER_HZ
}

/** Resident set size in MB. */
export function rssMb (pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? NaN : Number(m[1]) / 1024
}

/**
 * Datagrams the kernel dropped on arrival at a process's UDP sockets, its receive buffer full
 * (the last column of /proc/net/udp, matched by socket inode). A QUIC server that falls behind
 * loses packets here, and its clients' handshakes and keepalives with them.
 */
export function udpDrops (pid: number): number {
  const inodes = new Set<string>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
      if (m !== null) inodes.add(m[1])
    } catch {} // closed meanwhile
  }
  let drops = 0
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f.length > 12 && inodes.has(f[9])) drops += Number(f[f.length - 1])
    }
  }
  return drops
}

/** A monotonic clock in ms that all processes on this host share (CLOCK_MONOTONIC). */
export function hostMonoMs (): number { return Number(process.hrtime.bigint()) / 1e6 }

// Messages between the bench and a client process.

export type ToClients =
  /** identities: with --identity, this process's relays' identity lines (in order) and the controller's public key. */
  | { type: 'init', first: number, count: number, total: number, seed: number, controller: HostPort, meshKey: string, maxPending: number, identities?: { relays: string[], controller: string } }
  | { type: 'sink', sink: HostPort }
  /** Sets link id→peer down or up and sends a report at once; answered with 'sent'. */
  | { type: 'link', id: string, peer: string, up: boolean }
  /** Table messages and neighbour changes received since `since` (hostMonoMs). */
  | { type: 'events', since: number }
  | { type: 'tables' }
  | { type: 'stop' }

export interface ClientStatus {
  type: 'status'
  started: number
  /** Clients welcomed by the leader. */
  following: number
  /** Clients with at least one table message. */
  withTable: number
  sinkConnected: number
  reportsSent: number
  /** Sum of every client's neighbour count. */
  degreeSum: number
  /** Times a client that followed the leader stopped following it (its channel closed). */
  reconnects: number
  /** Table messages received, and neighbour sets that changed, over all clients. */
  tableMessages: number
  neighbourChanges: number
  lastTableAt: number
  lastNeighboursAt: number
  /** The longest this process's event loop was held up since it started (ms). */
  loopDelayMaxMs: number
}

export type FromClients =
  | ClientStatus
  | { type: 'sent', t: number }
  /** [relay index, version, round, hostMonoMs] per table message; neighbour change times. */
  | { type: 'events', tables: Array<[number, number, number, number]>, neighbours: number[] }
  /** Per relay: its index and its next hops by destination index (base64 of an Int16Array). */
  | { type: 'tables', rows: Array<[number, string]> }
