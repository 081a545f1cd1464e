/**
 * bench:controller: the real controller daemon at scale. Starts `relaymesh controller` (in-memory
 * store) as a child process and N relay control clients (default 1,000) over real QUIC, spread
 * over a few client processes (controller-clients.ts), each client the real ControlClient
 * reporting the links the controller gave it with synthetic figures (controller-mesh.ts) at the
 * prober's report interval. No UDP probing: the controller's side of the control channel is what
 * is measured.
 *
 *   1. Connect: clients start paced (at most --max-pending per client process waiting for the
 *      leader's welcome at once; 1,000 handshakes started at once starve each other on 2 cores).
 *      connect_all_s: until every client follows the leader; tables_all_s: until every one has
 *      tables and no table message has moved for a while.
 *   2. Baseline: each client opens a second ControlClient to a bare QUIC sink (controller-sink.ts,
 *      src/transport/quic alone) and sends it the same reports.
 *   3. Steady state over --steady-s: the controller's and the sink's CPU (user + system, every
 *      thread, from /proc; 100 = one core) and RSS, and reports per second the controller counted.
 *   4. Link failures: the busiest links (most routes cross them, from the clients' own tables). A
 *      relay reports one down (trigger 'state', as the prober does); the time from that report to
 *      the last table message any client received for it (each client acks as it applies one) is
 *      reroute_all_acked_ms, over the clients that got one (affected_clients). Then the link comes
 *      back up and the mesh settles before the next. A trial during which the controller sent new
 *      neighbour sets (its periodic refresh) is discarded and counted.
 *
 * Also printed, to read a miss by: the controller's UDP receive drops (controller_udp_drops), the
 * clients' reconnects, the table and neighbour messages sent while they joined, reports the
 * controller counted against reports sent (fewer: it fell behind), and the host's 1-min load.
 *
 * Prints one JSON line; progress on stderr. Flags: --clients N (1000), --procs P (4), --trials T
 * (20), --steady-s S (30), --max-pending K (6), --connect-timeout-s S (give up; N/2), --seed N, --fast (short windows, 3 trials: a smoke
 * test), --no-sink, --identity (the control channel on identities instead of the mesh key: docs/security.md), --cpu-prof DIR (profile the controller and the sink; profile-summary.js reads them), and
 * --nearest / --random-links, passed to the controller (default 6 and 3: a mesh of degree ~16).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Identity } from '../../src/identity.js'
import { generateMeshKeyText, parseMeshKey } from '../../src/mesh-key.js'
import type { HostPort } from '../../src/transport/address.js'
import { CLI, READY_FD, READY_STDIO, readyLine } from '../../sim/process/daemons.js'
import {
  cpuSeconds, hostMonoMs, linkUsage, percentile, relayId, rssMb, udpDrops, type ClientStatus, type FromClients, type ToClients
} from './controller-mesh.js'

const { values: opt } = parseArgs({
  options: {
    clients: { type: 'string', default: '1000' },
    procs: { type: 'string', default: '4' },
    trials: { type: 'string' },
    'steady-s': { type: 'string' },
    'max-pending': { type: 'string', default: '6' },
    'connect-timeout-s': { type: 'string' },
    seed: { type: 'string', default: '1' },
    fast: { type: 'boolean', default: false },
    'no-sink': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    nearest: { type: 'string', default: '6' },
    'random-links': { type: 'string', default: '3' },
    identity: { type: 'boolean', default: false }
  }
})
const N = Number(opt.clients)
const PROCS = Math.min(Number(opt.procs), N)
const TRIALS = Number(opt.trials ?? (opt.fast ? 3 : 20))
const STEADY_S = Number(opt['steady-s'] ?? (opt.fast ? 3 : 30))
/** No table message for this long: the mesh has settled (ms). */
const QUIET_MS = opt.fast ? 600 : 1_500
/** A link failure that brought no table message within this long counts as without a reroute (ms). */
const FIRST_TABLE_WAIT_MS = 15_000
/** Only a safety net: the time to connect is a figure, and on a loaded machine it can be long. */
const CONNECT_TIMEOUT_S = Number(opt['connect-timeout-s'] ?? Math.max(120, N / 2))
for (const [k, v] of [['--clients', N], ['--procs', PROCS], ['--trials', TRIALS], ['--steady-s', STEADY_S]] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${k} must be a positive whole number, got ${String(v)}`)
}

const log = (m: string): void => { process.stderr.write(`bench controller: ${m}\n`) }
const r1 = (x: number): number => Math.round(x * 10) / 10
const children = new Set<ChildProcess>()
let dir: string | undefined

/** Last resort when this process exits: nothing may outlive it. */
function killAll (): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
}
process.once('exit', killAll)

/** Asks every child to stop (SIGTERM; the client processes end their channels first). */
function stopAll (): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM')
}

/** Waits for the children to exit, killing what is left after `graceMs`. */
async function waitChildren (graceMs: number, which: ChildProcess[] = [...children]): Promise<void> {
  await Promise.all(which.map(async (c) => {
    if (c.exitCode !== null || c.signalCode !== null) return
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => { c.kill('SIGKILL') }, graceMs)
      c.once('exit', () => { clearTimeout(t); resolve() })
    })
  }))
}

async function shutdown (code: number): Promise<never> {
  stopAll()
  // A profiled controller writes its profile as it exits: give it time.
  await waitChildren(opt['cpu-prof'] === undefined ? 5_000 : 30_000)
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  process.exit(code)
}
process.once('SIGINT', () => { log('interrupted'); void shutdown(130) })
process.once('SIGTERM', () => { void shutdown(143) })

/** A client process, with its latest status and a queue of replies. */
class ClientProc {
  status: ClientStatus = { type: 'status', started: 0, following: 0, withTable: 0, sinkConnected: 0, reportsSent: 0, degreeSum: 0, reconnects: 0, tableMessages: 0, neighbourChanges: 0, lastTableAt: 0, lastNeighboursAt: 0, loopDelayMaxMs: 0 }
  private readonly waiting: Array<(m: FromClients) => void> = []
  constructor (readonly proc: ChildProcess, readonly first: number, readonly count: number) {
    proc.on('message', (m: FromClients) => {
      if (m.type === 'status') this.status = m
      else this.waiting.shift()?.(m)
    })
  }

  send (m: ToClients): void { this.proc.send(m) }
  async ask<T extends FromClients['type']> (m: ToClients, type: T): Promise<Extract<FromClients, { type: T }>> {
    const reply = new Promise<FromClients>((resolve) => { this.waiting.push(resolve) })
    this.send(m)
    const r = await reply
    if (r.type !== type) throw new Error(`client process answered ${r.type}, expected ${type}`)
    return r as Extract<FromClients, { type: T }>
  }
}

async function until (what: string, cond: () => boolean, timeoutMs: number, progress?: () => string): Promise<void> {
  const end = Date.now() + timeoutMs
  let lastLog = Date.now()
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${progress === undefined ? '' : ` (${progress()})`}`)
    if (progress !== undefined && Date.now() - lastLog > 5_000) { lastLog = Date.now(); log(progress()) }
    await sleep(50)
  }
}

const sum = (procs: ClientProc[], f: (s: ClientStatus) => number): number => procs.reduce((a, p) => a + f(p.status), 0)
const lastTableAt = (procs: ClientProc[]): number => Math.max(...procs.map((p) => p.status.lastTableAt))

/** Waits until no client has received a table message for QUIET_MS. */
async function quiet (procs: ClientProc[], timeoutMs = 60_000): Promise<void> {
  // A status is up to 200 ms old: wait for one sent after now.
  const t = hostMonoMs()
  await sleep(250)
  await until('the mesh to settle', () => hostMonoMs() - Math.max(lastTableAt(procs), t) >= QUIET_MS, timeoutMs)
}

async function counterOf (httpPort: number, name: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()
    const line = text.split('\n').find((l) => l.startsWith(`${name} `))
    return line === undefined ? undefined : Number(line.slice(name.length + 1))
  } catch { return undefined }
}

async function main (): Promise<void> {
  dir = await mkdtemp(join(tmpdir(), 'relaymesh-bench-controller-'))
  const keyFile = join(dir, 'mesh.key')
  const keyText = generateMeshKeyText()
  await writeFile(keyFile, keyText, { mode: 0o600 })
  const meshKey = parseMeshKey(keyText, keyFile).toString('base64')

  // --identity: the control channel on identities (docs/security.md), one per relay and the controller's.
  let identities: { relays: string[], controller: string } | undefined
  const identityArgs: string[] = []
  if (opt.identity) {
    const own = Identity.generate()
    const relays = Array.from({ length: N }, () => Identity.generate())
    await writeFile(join(dir, 'controller.id'), own.text + '\n', { mode: 0o600 })
    await writeFile(join(dir, 'relay-keys'), relays.map((r, i) => `${relayId(i)} ${r.public.text}`).join('\n') + '\n')
    identities = { relays: relays.map((r) => r.text), controller: own.public.text }
    identityArgs.push('--identity', join(dir, 'controller.id'), '--relay-keys', join(dir, 'relay-keys'))
  }
  const prof = opt['cpu-prof'] === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', opt['cpu-prof']]
  const ctl = spawn(process.execPath, [...prof, CLI, 'controller', '--control', '127.0.0.1:0', '--http', '127.0.0.1:0',
    '--mesh-key-file', keyFile, '--log-level', 'warn', '--nearest', opt.nearest, '--random-links', opt['random-links'],
    ...identityArgs, '--ready-fd', String(READY_FD)], { stdio: READY_STDIO })
  children.add(ctl)
  let ctlLog = ''
  ctl.stderr?.setEncoding('utf8')
  ctl.stderr?.on('data', (d: string) => { ctlLog = (ctlLog + d).slice(-4000) })
  const ready = await readyLine(ctl, 'controller', 20_000, () => ctlLog)
  const control = ready.control as HostPort
  const httpPort = (ready.http as HostPort).port
  const ctlPid = ctl.pid as number
  const load0 = loadavg()[0]
  log(`controller pid ${ctlPid} on ${control.host}:${control.port}; ${N} clients in ${PROCS} processes`)

  let sinkPid: number | undefined
  let sinkPort: number | undefined
  let sink: ChildProcess | undefined
  if (!opt['no-sink']) {
    sink = fork(fileURLToPath(new URL('./controller-sink.js', import.meta.url)), [meshKey], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: prof })
    children.add(sink)
    const m = await new Promise<{ port: number, pid: number }>((resolve) => { sink?.once('message', (x) => { resolve(x as { port: number, pid: number }) }) })
    sinkPid = m.pid; sinkPort = m.port
  }

  const procs: ClientProc[] = []
  const per = Math.ceil(N / PROCS)
  const t0 = hostMonoMs()
  for (let p = 0; p < PROCS; p++) {
    const first = p * per
    const count = Math.min(per, N - first)
    if (count <= 0) break
    const child = fork(fileURLToPath(new URL('./controller-clients.js', import.meta.url)), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
    children.add(child)
    const cp = new ClientProc(child, first, count)
    procs.push(cp)
    cp.send({
      type: 'init', first, count, total: N, seed: Number(opt.seed), controller: control, meshKey, maxPending: Number(opt['max-pending']),
      identities: identities === undefined ? undefined : { relays: identities.relays.slice(first, first + count), controller: identities.controller }
    })
  }
  const progress = (): string => `controller UDP drops ${udpDrops(ctlPid)}, ${sum(procs, (s) => s.following)}/${N} following the leader, ${sum(procs, (s) => s.withTable)} with tables, ${sum(procs, (s) => s.reconnects)} reconnects, ${r1((hostMonoMs() - t0) / 1000)} s`
  const c0 = cpuSeconds(ctlPid)
  const clientsCpu = (): number => procs.reduce((a, p) => a + cpuSeconds(p.proc.pid as number), 0)
  try {
    await until('every client to follow the leader', () => sum(procs, (s) => s.following) === N, CONNECT_TIMEOUT_S * 1000, progress)
  } catch (err) {
    // A miss is a figure too: how far it got, and what the controller went through meanwhile.
    const wallS = (hostMonoMs() - t0) / 1000
    process.stdout.write(JSON.stringify({
      bench: 'controller',
      clients: N,
      load_1m: [r1(load0), r1(loadavg()[0])],
      client_processes: procs.length,
      connect_all_s: null,
      error: (err as Error).message,
      following_at_timeout: sum(procs, (s) => s.following),
      with_tables_at_timeout: sum(procs, (s) => s.withTable),
      client_reconnects: sum(procs, (s) => s.reconnects),
      connect_table_messages: sum(procs, (s) => s.tableMessages),
      connect_neighbour_changes: sum(procs, (s) => s.neighbourChanges),
      controller_udp_drops: { connect: udpDrops(ctlPid) },
      connect_cpu_pct: r1(100 * (cpuSeconds(ctlPid) - c0) / wallS),
      rss_mb: r1(rssMb(ctlPid))
    }) + '\n')
    throw err
  }
  const connectAllS = (hostMonoMs() - t0) / 1000
  const connectMsgs = { tables: sum(procs, (s) => s.tableMessages), neighbours: sum(procs, (s) => s.neighbourChanges), udpDrops: udpDrops(ctlPid) }
  // Where the connect time went: the controller's and the clients' CPU, and the route computations.
  const connectWork = {
    // Read first: every scrape restarts the event-loop delay histogram.
    loop_delay_max_s: r1(await counterOf(httpPort, 'relaymesh_process_nodejs_eventloop_lag_max_seconds') ?? NaN),
    controller_cpu_pct: r1(100 * (cpuSeconds(ctlPid) - c0) / connectAllS),
    clients_cpu_pct: r1(100 * clientsCpu() / connectAllS),
    // The client processes' longest event-loop stall: beyond the 1 s connect timeout, their own handshakes fail.
    clients_loop_delay_max_s: r1(Math.max(...procs.map((p) => p.status.loopDelayMaxMs)) / 1000),
    computations: await counterOf(httpPort, 'relaymesh_controller_route_computations_total') ?? null,
    compute_s: r1(await counterOf(httpPort, 'relaymesh_controller_route_compute_seconds_sum') ?? NaN)
  }
  log(`all ${N} connected in ${r1(connectAllS)} s`)
  await until('every client to have tables', () => sum(procs, (s) => s.withTable) === N, 120_000, progress)
  await quiet(procs, 120_000)
  const tablesAllS = (Math.max(lastTableAt(procs), t0) - t0) / 1000
  log(`tables settled ${r1(tablesAllS)} s after the start; mean degree ${r1(sum(procs, (s) => s.degreeSum) / N)}`)

  let sinkConnectS: number | undefined
  if (sinkPort !== undefined) {
    const s0 = hostMonoMs()
    for (const p of procs) p.send({ type: 'sink', sink: { host: '127.0.0.1', port: sinkPort, family: 4 } })
    await until('every client to reach the sink', () => sum(procs, (s) => s.sinkConnected) === N, CONNECT_TIMEOUT_S * 1000,
      () => `${sum(procs, (s) => s.sinkConnected)}/${N} connected to the sink`)
    sinkConnectS = (hostMonoMs() - s0) / 1000
    log(`all connected to the sink in ${r1(sinkConnectS)} s`)
    await quiet(procs)
  }

  // Steady state.
  const sinkCount = async (): Promise<number> => await new Promise((resolve) => {
    if (sink === undefined) { resolve(0); return }
    sink.once('message', (m) => { resolve((m as { messages: number }).messages) })
    sink.send('count')
  })
  log(`steady state: measuring ${STEADY_S} s`)
  const w0 = { t: hostMonoMs(), ctl: cpuSeconds(ctlPid), sink: sinkPid === undefined ? 0 : cpuSeconds(sinkPid), reports: await counterOf(httpPort, 'relaymesh_controller_reports_total'), sent: sum(procs, (s) => s.reportsSent), sinkMsgs: await sinkCount() }
  await sleep(STEADY_S * 1000)
  const w1 = { t: hostMonoMs(), ctl: cpuSeconds(ctlPid), sink: sinkPid === undefined ? 0 : cpuSeconds(sinkPid), reports: await counterOf(httpPort, 'relaymesh_controller_reports_total'), sent: sum(procs, (s) => s.reportsSent), sinkMsgs: await sinkCount() }
  const wallS = (w1.t - w0.t) / 1000
  const steady = {
    cpu_pct: r1(100 * (w1.ctl - w0.ctl) / wallS),
    rss_mb: r1(rssMb(ctlPid)),
    reports_per_s: r1(((w1.reports !== undefined && w0.reports !== undefined) ? w1.reports - w0.reports : w1.sent - w0.sent) / wallS),
    reports_sent_per_s: r1((w1.sent - w0.sent) / wallS),
    baseline_quic_sink_cpu_pct: sinkPid === undefined ? null : r1(100 * (w1.sink - w0.sink) / wallS),
    baseline_quic_sink_rss_mb: sinkPid === undefined ? null : r1(rssMb(sinkPid)),
    sink_messages_per_s: sinkPid === undefined ? null : r1((w1.sinkMsgs - w0.sinkMsgs) / wallS)
  }
  log(`steady: ${JSON.stringify(steady)}`)

  // Link failures on the busiest links.
  const next: Int16Array[] = new Array(N)
  for (const p of procs) {
    const t = await p.ask({ type: 'tables' }, 'tables')
    for (const [i, b64] of t.rows) { const b = Buffer.from(b64, 'base64'); next[i] = new Int16Array(b.buffer, b.byteOffset, b.length / 2) }
  }
  const { usage, broken } = linkUsage(next)
  const busy: Array<[number, number, number]> = []
  const seen = new Set<string>()
  for (const [k, n] of [...usage].sort((a, b) => b[1] - a[1])) {
    const [a, b] = k.split('>').map(Number)
    const pair = a < b ? `${a}-${b}` : `${b}-${a}`
    if (seen.has(pair)) continue
    seen.add(pair)
    busy.push([a, b, n])
    if (busy.length === TRIALS * 2) break
  }
  log(`busiest links: ${busy.slice(0, 5).map(([a, b, n]) => `${relayId(a)}→${relayId(b)} (${n} routes)`).join(', ')}; ${broken} broken routes`)
  const procOf = (i: number): ClientProc => procs[Math.floor(i / per)]
  const rerouteMs: number[] = []
  const affected: number[] = []
  const routesOnLink: number[] = []
  let discarded = 0
  let noReroute = 0
  for (const [a, b, n] of busy) {
    if (rerouteMs.length >= TRIALS) break
    await quiet(procs)
    const owner = procOf(a)
    const computeS0 = await counterOf(httpPort, 'relaymesh_controller_route_compute_seconds_sum')
    const computes0 = await counterOf(httpPort, 'relaymesh_controller_route_computations_total')
    const { t: down } = await owner.ask({ type: 'link', id: relayId(a), peer: relayId(b), up: false }, 'sent')
    // A controller behind on its input starts late: wait for its first table message (a while),
    // then for no more to come.
    const firstBy = Date.now() + FIRST_TABLE_WAIT_MS
    await until('a table message', () => lastTableAt(procs) > down || Date.now() > firstBy, FIRST_TABLE_WAIT_MS + 1_000)
    await until('the reroute to settle', () => hostMonoMs() - Math.max(lastTableAt(procs), down) >= QUIET_MS, 60_000)
    const events = await Promise.all(procs.map(async (p) => await p.ask({ type: 'events', since: down }, 'events')))
    const computeMs = ((await counterOf(httpPort, 'relaymesh_controller_route_compute_seconds_sum') ?? NaN) - (computeS0 ?? NaN)) * 1000
    const computes = (await counterOf(httpPort, 'relaymesh_controller_route_computations_total') ?? NaN) - (computes0 ?? NaN)
    await owner.ask({ type: 'link', id: relayId(a), peer: relayId(b), up: true }, 'sent')
    const tables = events.flatMap((e) => e.tables)
    if (events.some((e) => e.neighbours.length > 0)) { discarded++; log(`trial ${relayId(a)}→${relayId(b)}: neighbour sets changed meanwhile; discarded`); continue }
    if (tables.length === 0) { noReroute++; log(`trial ${relayId(a)}→${relayId(b)}: no table message`); continue }
    const ms = Math.max(...tables.map((e) => e[3])) - down
    rerouteMs.push(ms)
    affected.push(new Set(tables.map((e) => e[0])).size)
    routesOnLink.push(n)
    // Per table version, when each round's first and last message arrived, for reading slow trials.
    const byVersion = new Map<number, Map<number, [number, number]>>()
    for (const [, v, round, t] of tables) {
      const rounds = byVersion.get(v) ?? new Map<number, [number, number]>()
      const r = rounds.get(round) ?? [Infinity, 0]
      rounds.set(round, [Math.min(r[0], t - down), Math.max(r[1], t - down)])
      byVersion.set(v, rounds)
    }
    const detail = [...byVersion].map(([v, rounds]) => `v${v} rounds ${[...rounds].sort((a, b) => a[0] - b[0]).map(([r, [a, b]]) => `${r}:${a.toFixed(0)}-${b.toFixed(0)}`).join(' ')} ms`).join('; ')
    log(`trial ${rerouteMs.length}/${TRIALS}: ${relayId(a)}→${relayId(b)} (${n} routes) down: ${affected[affected.length - 1]} clients acked within ${ms.toFixed(0)} ms (${detail}; ${computes} computations, ${computeMs.toFixed(0)} ms)`)
  }
  await quiet(procs)

  process.stdout.write(JSON.stringify({
    bench: 'controller',
    clients: N,
    // The control channel's handshake: the mesh key, or identities (--identity).
    control_auth: opt.identity ? 'identity' : 'mesh-key',
    // Others' work on this host slows connects and reroutes (not CPU seconds): the 1-min load.
    load_1m: [r1(load0), r1(loadavg()[0])],
    client_processes: procs.length,
    mesh_degree: r1(sum(procs, (s) => s.degreeSum) / N),
    connect_all_s: r1(connectAllS),
    tables_all_s: r1(tablesAllS),
    // What the clients received until all were connected: the controller's churn while they join.
    connect_table_messages: connectMsgs.tables,
    connect_neighbour_changes: connectMsgs.neighbours,
    connect_work: connectWork,
    // Datagrams the controller's socket dropped (receive buffer full): while connecting, and in all.
    controller_udp_drops: { connect: connectMsgs.udpDrops, total: udpDrops(ctlPid) },
    sink_connect_all_s: sinkConnectS === undefined ? null : r1(sinkConnectS),
    steady_s: STEADY_S,
    reports_per_s: steady.reports_per_s,
    reports_sent_per_s: steady.reports_sent_per_s,
    cpu_pct: steady.cpu_pct,
    rss_mb: steady.rss_mb,
    baseline_quic_sink_cpu_pct: steady.baseline_quic_sink_cpu_pct,
    baseline_quic_sink_rss_mb: steady.baseline_quic_sink_rss_mb,
    sink_messages_per_s: steady.sink_messages_per_s,
    link_failures: rerouteMs.length,
    routes_on_failed_link: { p50: percentile(routesOnLink, 50), min: Math.min(...routesOnLink) },
    reroute_all_acked_ms: { p50: r1(percentile(rerouteMs, 50)), p99: r1(percentile(rerouteMs, 99)), max: r1(Math.max(...rerouteMs)) },
    affected_clients: { p50: percentile(affected, 50), p99: percentile(affected, 99), max: Math.max(...affected) },
    trials_discarded: discarded,
    client_reconnects: sum(procs, (s) => s.reconnects),
    failures_without_reroute: noReroute
  }) + '\n')

  // Clients first, so that the controller has no channel left to close.
  for (const p of procs) p.send({ type: 'stop' })
  await waitChildren(5_000, procs.map((p) => p.proc))
  sink?.disconnect()
}

try {
  await main()
} catch (err) {
  log(`failed: ${(err as Error).message}`)
  process.exitCode = 1
}
await shutdown(typeof process.exitCode === 'number' ? process.exitCode : 0)
