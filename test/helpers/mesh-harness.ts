import dgram from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { systemClock } from '../../src/clock.js'
import type { Identity } from '../../src/identity.js'
import { createLogger, type Logger } from '../../src/logging.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import type { Store } from '../../src/store/types.js'
import type { HostPort } from '../../src/transport/address.js'
import type { ImpairParams } from '../../src/transport/impair/model.js'
import { Controller } from '../../controller/controller.js'
import { LinkEmulator } from '../../relay/link-emulator.js'
import { Relay } from '../../relay/relay.js'
import { parseTunnelSpec } from '../../relay/tunnel/spec.js'
import { REASON_NAMES } from '../../src/wire/reasons.js'

/**
 * An in-process mesh for integration tests: a controller and relays on real UDP and QUIC sockets
 * on 127.0.0.1, each relay with a LinkEmulator so every directed link can be given its own delay,
 * loss or outage. Relays run in this process so a test can reach into them; the controller can
 * also be an outside process (see controllerAddrs).
 */
export class MeshHarness {
  readonly meshKey = randomBytes(32)
  readonly log: Logger = createLogger({ level: process.env.RELAYMESH_TEST_LOG ?? 'silent', pretty: false })
  readonly relays = new Map<string, Relay>()
  readonly emulators = new Map<string, LinkEmulator>()
  /** Passed to every relay started from now on. */
  fastReroute = true
  /**
   * Set before starting: the control channel runs on identities (docs/security.md), the
   * controller's and one per relay id, which the controller lists and the relays use.
   */
  identities: { own: Identity, relays: Map<string, Identity> } | undefined
  controller: Controller | undefined
  controllerAddrs: HostPort[] = []
  dir = ''

  async init (): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'relaymesh-mesh-'))
  }

  async startController (store: Store = new MemoryStore(systemClock)): Promise<Controller> {
    const ids = this.identities
    const identity = ids === undefined ? undefined : { own: ids.own, relayKeys: new Map([...ids.relays].map(([id, k]) => [id, [k.public]])) }
    const c = new Controller({ clock: systemClock, logger: this.log, store }, { control: { host: '127.0.0.1', port: 0, family: 4 }, meshKey: this.meshKey, identity })
    await c.start()
    this.controller = c
    this.controllerAddrs = [c.address as HostPort]
    return c
  }

  /** Starts a relay following the controller(s); `tunnels` are tunnel specs with LISTEN port 0 allowed. */
  async startRelay (id: string, opts: { tunnels?: string[], stateFile?: boolean, port?: number } = {}): Promise<Relay> {
    const emu = this.emulators.get(id) ?? new LinkEmulator()
    this.emulators.set(id, emu)
    const r = new Relay({ clock: systemClock, logger: this.log }, {
      id,
      listen: { host: '127.0.0.1', port: opts.port ?? 0, family: 4 },
      meshKey: this.meshKey,
      controllers: this.controllerAddrs,
      identity: this.identities === undefined ? undefined : { own: this.identities.relays.get(id) as Identity, controllerKeys: this.controllerAddrs.map(() => (this.identities as { own: Identity }).own.public) },
      tunnels: (opts.tunnels ?? []).map(parseTunnelSpec),
      // Tunnel targets bind port 0 on loopback, outside the default egress ports at times.
      egressAllow: ['127.0.0.1/32'],
      stateFile: opts.stateFile === true ? join(this.dir, `${id}.state.json`) : undefined,
      linkEmulator: emu,
      fastReroute: this.fastReroute
    })
    await r.start()
    this.relays.set(id, r)
    return r
  }

  /** The standard five-relay test mesh: a–b–e is the cheapest a→e path, a–c–e the next. */
  async fiveRelays (tunnelTarget: HostPort, opts: { stateFile?: boolean } = {}): Promise<HostPort> {
    const a = await this.startRelay('a', { tunnels: [`127.0.0.1:0@e=127.0.0.1:${tunnelTarget.port}`], stateFile: opts.stateFile })
    for (const id of ['b', 'c', 'd', 'e']) await this.startRelay(id, { stateFile: opts.stateFile })
    // One-way delays (ms). Every pair probes every other (full mesh), so every pair gets one.
    const delays: Array<[string, string, number]> = [
      // Costs far apart, so that RTT and jitter inflated by a loaded machine cannot reorder them.
      ['a', 'b', 5], ['b', 'e', 5], ['a', 'c', 20], ['c', 'e', 20], ['a', 'd', 45], ['d', 'e', 45],
      ['a', 'e', 80], ['b', 'c', 60], ['b', 'd', 60], ['c', 'd', 60]
    ]
    for (const [x, y, ms] of delays) this.impair(x, y, { delayMs: ms })
    return a.tunnels.ingress[0].bound as HostPort
  }

  relay (id: string): Relay {
    const r = this.relays.get(id)
    if (r === undefined) throw new Error(`no relay ${id}`)
    return r
  }

  /** Impairs both directions of link a–b (merging with what was set before). */
  impair (a: string, b: string, params: Partial<ImpairParams>): void {
    this.impairOne(a, b, params)
    this.impairOne(b, a, params)
  }

  /** Impairs what `from` sends to `to`. */
  impairOne (from: string, to: string, params: Partial<ImpairParams>): void {
    const addr = this.relay(to).address as HostPort
    const emu = this.emulators.get(from)
    if (emu === undefined) throw new Error(`no emulator for ${from}`)
    emu.set(addr.host, addr.port, params)
  }

  /** Waits until `check` holds, polling; throws with `what` after `timeoutMs`. */
  async until (what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await sleep(20)
    }
  }

  /** Next hop of relay `src` toward `dst` in its data plane, by id. */
  nextHop (src: string, dst: string): string | undefined {
    const r = this.relay(src)
    return r.plane.getRoute(this.relay(dst).number)?.nextHop.id
  }

  /** Sum of a drop counter over all relays. */
  drops (reason: string): number {
    const i = REASON_NAMES.indexOf(reason as typeof REASON_NAMES[number])
    let n = 0
    for (const r of this.relays.values()) n += r.plane.counters.dropped[i]
    return n
  }

  async stop (): Promise<void> {
    await Promise.all([...this.relays.values()].map(async (r) => { await r.stop() }))
    await this.controller?.stop()
  }
}

export const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/**
 * A steady UDP flow through a tunnel: sends a numbered datagram every `intervalMs` to the tunnel's
 * ingress and records when each arrives at the target. gaps() finds the longest silence.
 */
export class Flow {
  readonly arrivals: Array<{ seq: number, at: number }> = []
  sent = 0
  private readonly tx = dgram.createSocket('udp4')
  private readonly rx = dgram.createSocket('udp4')
  private timer: NodeJS.Timeout | undefined
  target: HostPort = { host: '127.0.0.1', port: 0, family: 4 }

  /** Binds the receiving end; its address is the tunnel's TARGET. */
  async open (): Promise<HostPort> {
    await new Promise<void>((resolve) => { this.rx.bind(0, '127.0.0.1', resolve) })
    await new Promise<void>((resolve) => { this.tx.bind(0, '127.0.0.1', resolve) })
    this.rx.on('message', (msg) => { if (msg.length >= 4) this.arrivals.push({ seq: msg.readUInt32BE(0), at: performance.now() }) })
    this.target = { host: '127.0.0.1', port: this.rx.address().port, family: 4 }
    return this.target
  }

  start (ingress: HostPort, intervalMs = 5, bytes = 200): void {
    this.timer = setInterval(() => {
      // A buffer per packet: dgram sends asynchronously and must not see the next packet's bytes.
      const buf = Buffer.alloc(bytes)
      buf.writeUInt32BE(this.sent++, 0)
      this.tx.send(buf, ingress.port, ingress.host)
    }, intervalMs)
  }

  stopSending (): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }

  /** Distinct sequence numbers received. */
  received (): number { return new Set(this.arrivals.map((a) => a.seq)).size }

  /** Longest time without an arrival between `from` and `to` (performance.now() ms). */
  maxGap (from: number, to: number): number {
    let last = from
    let gap = 0
    for (const a of this.arrivals) {
      if (a.at < from) continue
      if (a.at > to) break
      gap = Math.max(gap, a.at - last)
      last = a.at
    }
    return Math.max(gap, to - last)
  }

  close (): void {
    this.stopSending()
    this.tx.close()
    this.rx.close()
  }
}

/** A `relaymesh controller` process, for tests that kill it. */
export interface ControllerProcess {
  proc: import('node:child_process').ChildProcess
  control: HostPort
  http: string
  log: () => string
}

/** Starts the real controller CLI with this harness's mesh key; `port` 0 picks a free one. */
export async function startControllerProcess (h: MeshHarness, port: number, extra: string[] = []): Promise<ControllerProcess> {
  const { spawn } = await import('node:child_process')
  const { writeFile } = await import('node:fs/promises')
  const { CLI } = await import('./relay-process.js')
  const { READY_FD, READY_STDIO, readyLine, hostPortOf } = await import('../../sim/process/daemons.js')
  const keyFile = join(h.dir, 'mesh.key')
  await writeFile(keyFile, h.meshKey.toString('base64') + '\n', { mode: 0o600 })
  const proc = spawn(process.execPath, [CLI, 'controller', '--control', `127.0.0.1:${port}`, '--http', '127.0.0.1:0', '--mesh-key-file', keyFile,
    '--ready-fd', String(READY_FD), ...extra], { stdio: READY_STDIO })
  let log = ''
  proc.stderr?.setEncoding('utf8')
  proc.stderr?.on('data', (d: string) => { log += d })
  const ready = await readyLine(proc, 'controller', 30_000, () => log)
  const http = hostPortOf(ready.http)
  return { proc, control: hostPortOf(ready.control), http: `http://${http.host}:${http.port}`, log: () => log }
}
