import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Identity } from '../../src/identity.js'
import { formatHostPort, type HostPort } from '../../src/transport/address.js'
import { impairParamsOf, type LinkState } from '../scenario.js'
import { Daemon, hostPortOf, type LogLine } from './daemons.js'

export interface RelaySpec {
  id: string
  /** Tunnel targets: destination relay → the local UDP address the egress sends to. */
  tunnels?: Array<{ to: string, target: HostPort }>
  probeIntervalMs?: number
}

export interface MeshRelay {
  id: string
  daemon: Daemon
  mesh: HostPort
  http: string
  /** Tunnel ingress address per destination relay. */
  ingress: Map<string, HostPort>
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/**
 * A mesh of real daemons on loopback: one `relaymesh controller` and `relaymesh relay` processes
 * with --emulate-links, sharing a fresh mesh key and emulation token in a temp dir (and, given the
 * relay ids, an identity for each daemon). Ports are chosen by the kernel at the first start and
 * pinned, so a killed daemon restarts where its peers expect it. Used by the simulator's process
 * mode and by `relaymesh demo`.
 *
 * A relay takes link settings only for its current neighbours, which the controller hands out
 * after start-up and may change later. So the mesh keeps the wanted state of every directed pair,
 * sends it when asked, and sends it again whenever a relay logs that it was given a neighbour it
 * did not have, before much more than its first probes went out.
 */
export class ProcessMesh {
  readonly relays = new Map<string, MeshRelay>()
  /** Wall-clock times (ms) at which the controller began pushing a new table version. */
  readonly tableChanges: number[] = []
  controller: Daemon | undefined
  controlAddr: HostPort | undefined
  controllerHttp = ''
  private dir = ''
  private keyFile = ''
  private tokenFile = ''
  private token = ''
  /** The controller's public key, which relays pin, when the mesh runs on identities. */
  private controllerKey: string | undefined
  /** What each directed link `from>to` should do, as last asked. */
  private readonly wanted = new Map<string, LinkState>()
  /** The neighbours each relay process logged last; cleared when it (re)starts. */
  private readonly known = new Map<string, Set<string>>()
  /** Sends per pair, chained so that a later state never lands before an earlier one. */
  private readonly sends = new Map<string, Promise<void>>()
  /** A send that failed after a neighbour change, thrown by the next setLink. */
  private failure: Error | undefined

  /**
   * relayIds: the relays to be started, known up front. Given, each relay and the controller get
   * an identity of their own, the controller admits those relays by their keys and each relay pins
   * the controller's key (docs/security.md); without it the control channel uses the mesh key.
   */
  constructor (private readonly opts: { fullMeshMax?: number, controllerHttp?: HostPort, onControllerLog?: (l: LogLine) => void, relayIds?: string[] } = {}) {}

  /** The identity file of `name` in this mesh's directory, written now; returns its path. */
  private async writeIdentity (name: string): Promise<{ file: string, pub: string }> {
    const id = Identity.generate()
    const file = join(this.dir, `${name}.id`)
    await writeFile(file, id.text + '\n', { mode: 0o600 })
    return { file, pub: id.public.text }
  }

  async startController (): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'relaymesh-mesh-'))
    this.keyFile = join(this.dir, 'mesh.key')
    await writeFile(this.keyFile, randomBytes(32).toString('base64') + '\n', { mode: 0o600 })
    this.tokenFile = join(this.dir, 'emulation.token')
    this.token = randomBytes(32).toString('base64url')
    await writeFile(this.tokenFile, this.token + '\n', { mode: 0o600 })
    const http = this.opts.controllerHttp === undefined ? '127.0.0.1:0' : formatHostPort(this.opts.controllerHttp)
    const args = ['controller', '--control', '127.0.0.1:0', '--http', http, '--mesh-key-file', this.keyFile, '--log-level', 'info']
    if (this.opts.relayIds !== undefined) {
      const own = await this.writeIdentity('controller')
      this.controllerKey = own.pub
      const lines = []
      for (const id of this.opts.relayIds) lines.push(`${id} ${(await this.writeIdentity(`relay-${id}`)).pub}`)
      const relayKeys = join(this.dir, 'relay-keys')
      await writeFile(relayKeys, lines.join('\n') + '\n')
      args.push('--identity', own.file, '--relay-keys', relayKeys)
    }
    if (this.opts.fullMeshMax !== undefined) args.push('--full-mesh-max', String(this.opts.fullMeshMax))
    const daemon = new Daemon('controller', args, (l) => {
      // Logged once the last round is acknowledged; the version changed when the rollout began.
      if (l.msg === 'tables updated' && typeof l.time === 'number') this.tableChanges.push(l.time - (typeof l.ms === 'number' ? l.ms : 0))
      this.opts.onControllerLog?.(l)
    })
    const up = await daemon.start()
    const control = hostPortOf(up.control)
    this.controller = daemon
    this.controlAddr = control
    const httpAddr = hostPortOf(up.http)
    this.controllerHttp = `http://${formatHostPort(httpAddr)}`
    // A restarted controller comes back on the same ports.
    daemon.pin('--http', formatHostPort(httpAddr))
    daemon.pin('--control', formatHostPort(control))
  }

  async startRelay (spec: RelaySpec): Promise<MeshRelay> {
    if (this.controlAddr === undefined) throw new Error('start the controller first')
    const tunnels = (spec.tunnels ?? []).flatMap((t) => ['--tunnel', `127.0.0.1:0@${t.to}=${formatHostPort(t.target)}`])
    const args = ['relay', '--id', spec.id, '--listen', '127.0.0.1:0', '--controller', formatHostPort(this.controlAddr), '--mesh-key-file', this.keyFile,
      '--http', '127.0.0.1:0', '--emulate-links', '--emulate-links-token-file', this.tokenFile, '--state-file', join(this.dir, `${spec.id}.state.json`), '--log-level', 'info', ...tunnels]
    if (spec.probeIntervalMs !== undefined) args.push('--probe-interval', String(spec.probeIntervalMs))
    if (this.controllerKey !== undefined) args.push('--identity', join(this.dir, `relay-${spec.id}.id`), '--controller-key', this.controllerKey)
    // Flow sinks bind port 0 on loopback, outside the default egress ports (49152-65535) at times.
    args.push('--egress-allow', '127.0.0.1/32')
    const daemon = new Daemon(`relay ${spec.id}`, args, (l) => { this.relayLog(spec.id, l) })
    const up = await daemon.start()
    const mesh = hostPortOf(up.listen)
    const httpAddr = hostPortOf(up.http)
    daemon.pin('--listen', formatHostPort(mesh))
    daemon.pin('--http', formatHostPort(httpAddr))
    const ingress = new Map<string, HostPort>()
    for (const t of (up.tunnels as Array<{ spec: string, listen: unknown }>) ?? []) {
      const at = hostPortOf(t.listen)
      const dst = t.spec.slice(t.spec.indexOf('@') + 1, t.spec.indexOf('='))
      ingress.set(dst, at)
      // Pin the tunnel's port too, so a restarted relay takes its flow up again.
      daemon.replaceArg(t.spec, t.spec.replace(/^127\.0\.0\.1:0@/, `127.0.0.1:${at.port}@`))
    }
    const r: MeshRelay = { id: spec.id, daemon, mesh, http: `http://${formatHostPort(httpAddr)}`, ingress }
    this.relays.set(spec.id, r)
    return r
  }

  /**
   * Sets what `from` does to the packets it sends to `to`: now if `to` is its neighbour, else as
   * soon as it becomes one. Skips a relay that is down; rejects when the relay refuses.
   */
  async setLink (from: string, to: string, st: LinkState): Promise<void> {
    const failed = this.failure
    this.failure = undefined
    if (failed !== undefined) throw failed
    this.wanted.set(`${from}>${to}`, st)
    await this.send(from, to)
  }

  private relayLog (id: string, l: LogLine): void {
    if (l.msg === 'relay started') this.known.set(id, new Set())
    if (l.msg !== 'neighbours set by the controller' || !Array.isArray(l.neighbours)) return
    const before = this.known.get(id) ?? new Set()
    const now = new Set(l.neighbours.filter((n): n is string => typeof n === 'string'))
    this.known.set(id, now)
    for (const n of now) {
      if (before.has(n) || !this.wanted.has(`${id}>${n}`)) continue
      this.send(id, n).catch((err: Error) => { this.failure ??= err })
    }
  }

  private async send (from: string, to: string): Promise<void> {
    const key = `${from}>${to}`
    const next = (this.sends.get(key) ?? Promise.resolve()).then(async () => { await this.post(from, to) })
    this.sends.set(key, next.catch(() => {}))
    await next
  }

  private async post (from: string, to: string): Promise<void> {
    const a = this.relays.get(from); const b = this.relays.get(to); const st = this.wanted.get(`${from}>${to}`)
    if (a === undefined || b === undefined || st === undefined || !a.daemon.running) return
    const res = await fetch(`${a.http}/emulation/links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
      body: JSON.stringify({ to: formatHostPort(b.mesh), ...impairParamsOf(st) }),
      signal: AbortSignal.timeout(2000)
    })
    if (res.ok) return
    const text = await res.text()
    // Not its neighbour (yet): relayLog sends it once the relay says it is.
    if (res.status === 404 && text.includes('current neighbour')) return
    // An impairment that did not take would make the run measure something else: say so.
    throw new Error(`relay ${from} refused the emulation of ${from}→${to}: ${res.status} ${text}`)
  }

  async topology (routes = true): Promise<TopologyDoc | undefined> {
    try {
      const res = await fetch(`${this.controllerHttp}/api/topology${routes ? '' : '?routes=false'}`, { signal: AbortSignal.timeout(2000) })
      return res.ok ? await res.json() as TopologyDoc : undefined
    } catch { return undefined }
  }

  /**
   * Waits until every relay routes to every other and no table changed for `restMs` (or `limitMs`
   * passes), so what follows starts from converged routes rather than from first measurements.
   */
  async settle (restMs: number, limitMs: number): Promise<void> {
    const t0 = performance.now()
    let lastVersion = -1
    let restingSince = performance.now()
    const n = this.relays.size
    for (;;) {
      const topo = await this.topology()
      const full = topo !== undefined && [...this.relays.keys()].every((id) => Object.keys(topo.routes[id] ?? {}).length >= n - 1)
      if (topo === undefined || topo.version !== lastVersion || !full) { lastVersion = topo?.version ?? -1; restingSince = performance.now() }
      if (performance.now() - restingSince >= restMs || performance.now() - t0 > limitMs) return
      await sleep(250)
    }
  }

  /** Stops every daemon (SIGTERM, then SIGKILL) and removes the temp dir. Idempotent. */
  async stop (): Promise<void> {
    await Promise.all([...this.relays.values()].map(async (r) => { await r.daemon.stop() }))
    await this.controller?.stop()
    if (this.dir !== '') await rm(this.dir, { recursive: true, force: true })
  }
}

export interface TopologyDoc {
  version: number
  relays: Array<{ id: string, address: string, up: boolean }>
  links: Array<{ from: string, to: string, rtt_ms: number | null, jitter_ms: number | null, loss: number | null, cost: number | null, up: boolean }>
  routes: Record<string, Record<string, { next_hop: string, backup: string | null, path: string[], cost: number | null }>>
}
