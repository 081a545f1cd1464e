import { forwardVerdict, Verdict, type SeenCheck } from '../../relay/forward-verdict.js'
import { DEFAULT_TTL } from '../../src/wire/constants.js'
import { Seen } from '../../src/wire/replay-window.js'
import { FlowStats, round } from '../flow-stats.js'
import type { LinkState, Scenario } from '../scenario.js'
import type { FlowResult } from '../types.js'
import { mixSeed, Stream } from './seeds.js'
import { SimLink, type LinkTable } from './sim-link.js'
import type { MeshIndex, SimRelay } from './sim-relay.js'
import type { VirtualClock } from './virtual-clock.js'

interface Flow {
  id: string
  from: number
  to: number
  periodMs: number
  /** Scenario times (s) of the first send and of the end of sending. */
  startS: number
  stopS: number
  mesh: FlowStats
  direct: FlowStats
  /** The from→to link alone, its own impairment model; undefined when the pair is not connected. */
  directLink: SimLink | undefined
  path: string
  pathChanges: Array<{ t_s: number, path: string[] }>
}

/** A data packet in flight through the mesh. */
interface Packet {
  flow: number
  seq: number
  sentAt: number
  ttl: number
  /** The link it is crossing now. */
  link: SimLink | undefined
  /** Relays it has passed, its source first: the replay window drops it at any of them again. */
  visited: number[]
}

/**
 * The replay windows of the relays a packet passes, as the model keeps them: a relay's window has
 * seen the packet when the relay is on its list of relays passed, and a NEW one joins the list.
 * One for all packets; `visited` and `at` are set before each verdict, so a hop allocates nothing.
 */
export class PassedRelays implements SeenCheck {
  visited: number[] = []
  at = 0
  check (): Seen {
    if (this.visited.includes(this.at)) return Seen.DUPLICATE
    this.visited.push(this.at)
    return Seen.NEW
  }
}

/**
 * The scenario's flows, packet by packet at their rate, through the relays' forwarding state.
 *
 * Each packet leaves its source relay and is forwarded hop by hop on the data plane's own verdict
 * (relay/forward-verdict.ts): at each relay, the next hop its ForwardingTable gives now (after any
 * local fast reroute); no route drops it; the TTL starts at DEFAULT_TTL and a relay receiving it
 * at 1 drops it; a relay it has already passed drops it (the replay window), so a transient loop
 * costs the packet, never a storm. Each hop crosses that directed link's impairment model at the
 * virtual time the packet reaches it.
 *
 * Beside the mesh, every packet is also sent over the direct from→to link alone: the same
 * scenario state and schedule, its own random stream, and no relay in the way, so relay_down
 * events do not touch it. That is the baseline the mesh is judged against.
 *
 * The flow's path is the chain of next hops from its source, recomputed whenever forwarding
 * changes anywhere: the relays a packet sent now would pass, on their forwarding verdicts; [] when
 * a relay on the way has no route, is down, or the chain loops or runs out of TTL.
 */
export class FlowRunner {
  private readonly clock: VirtualClock
  private readonly links: LinkTable
  private readonly relays: readonly SimRelay[]
  private readonly mesh: MeshIndex
  private readonly durationS: number
  private readonly flows: Flow[]
  /** Virtual time (ms) of the scenario's t = 0, known once the warm-up ends. */
  private zeroMs = Infinity
  private readonly packets: Array<Packet | undefined> = []
  private readonly free: number[] = []
  private readonly sendKind: number
  private readonly hopKind: number
  private readonly directKind: number
  private readonly passed = new PassedRelays()

  constructor (components: { clock: VirtualClock, links: LinkTable, relays: readonly SimRelay[] }, init: { scenario: Scenario, mesh: MeshIndex, seed: number }) {
    this.clock = components.clock
    this.links = components.links
    this.relays = components.relays
    this.mesh = init.mesh
    const s = init.scenario
    this.durationS = s.duration_s
    this.flows = s.flows.map((f, i) => {
      const from = init.mesh.index.get(f.from) as number
      const to = init.mesh.index.get(f.to) as number
      const state = this.links.initialState(from, to)
      return {
        id: f.id,
        from,
        to,
        periodMs: 1000 / f.pps,
        startS: f.start_s,
        stopS: Math.min(f.stop_s ?? s.duration_s, s.duration_s),
        mesh: new FlowStats(),
        direct: new FlowStats(),
        directLink: state === undefined ? undefined : new SimLink({ clock: this.clock, outageChanges: 0, beforeChange: () => {} }, from, to, state, mixSeed(init.seed, Stream.direct, i)),
        path: '',
        pathChanges: []
      }
    })
    this.sendKind = this.clock.define((flow, k) => { this.send(flow, k) })
    this.hopKind = this.clock.define((id) => { this.arrive(id) })
    this.directKind = this.clock.define((flow, seq, _c, _d, sentAt) => { this.directArrive(flow, seq, sentAt) })
  }

  /** Destinations some flow sends to: the entries relays must keep in their forwarding tables. */
  destinations (): Set<number> { return new Set(this.flows.map((f) => f.to)) }

  /** Starts every flow's schedule; `zeroMs` is the virtual time of the scenario's t = 0. */
  start (zeroMs: number): void {
    this.zeroMs = zeroMs
    this.flows.forEach((f, i) => { if (f.startS < f.stopS) this.clock.post(this.at(f.startS), this.sendKind, i, 0) })
  }

  /** A schedule step or link event: the direct baselines over that pair change too. */
  applyStep (from: number, to: number, set: LinkState): void {
    for (const f of this.flows) if (f.from === from && f.to === to) f.directLink?.apply(set)
  }

  /** Forwarding changed somewhere: record the paths of running flows that moved. */
  routesChanged (): void {
    const now = this.clock.now
    for (const f of this.flows) if (now >= this.at(f.startS) && now < this.at(f.stopS)) this.trackPath(f, now)
  }

  results (): FlowResult[] {
    return this.flows.map((f) => {
      const mesh = f.mesh.series(this.durationS)
      const direct = f.direct.series(this.durationS)
      return {
        id: f.id,
        from: this.mesh.ids[f.from],
        to: this.mesh.ids[f.to],
        sent: f.mesh.sentCount,
        delivered: f.mesh.deliveredCount,
        loss: round(f.mesh.loss, 4),
        direct_loss: round(f.direct.loss, 4),
        p50_ms: f.mesh.percentile(50),
        p99_ms: f.mesh.percentile(99),
        direct_p50_ms: f.direct.percentile(50),
        direct_p99_ms: f.direct.percentile(99),
        path_changes: f.pathChanges,
        series: mesh.map((m, t) => ({ ...m, direct_loss: direct[t].loss, direct_p50_ms: direct[t].p50_ms }))
      }
    })
  }

  private trackPath (f: Flow, now: number): void {
    const path = this.walk(f.from, f.to)
    const key = path.join('>')
    if (key === f.path && f.pathChanges.length > 0) return
    f.path = key
    f.pathChanges.push({ t_s: Math.round(now - this.zeroMs) / 1000, path: path.map((i) => this.mesh.ids[i]) })
  }

  /** The relays a packet sent now would pass, on the verdict each would give it, or [] if it would be dropped. */
  private walk (from: number, to: number): number[] {
    const path = [from]
    const passed = this.passed
    passed.visited = path
    let ttl = DEFAULT_TTL
    let next = this.relays[from].alive ? this.relays[from].nextHop.get(to) : undefined
    for (;;) {
      if (next === undefined) return []
      const at = next
      const r = this.relays[at]
      if (!r.alive) return []
      next = at === to ? undefined : r.nextHop.get(to)
      passed.at = at
      // A NEW verdict's window records the relay: it joins the path.
      const verdict = forwardVerdict(at, from, to, ttl, 0, 0, passed, next !== undefined)
      if (verdict === Verdict.DELIVER) return path
      if (verdict !== Verdict.FORWARD) return []
      ttl--
    }
  }

  private send (flow: number, k: number): void {
    const f = this.flows[flow]
    const now = this.clock.now
    if (k === 0) this.trackPath(f, now)
    const tS = (now - this.zeroMs) / 1000
    f.mesh.sent(k, tS)
    f.direct.sent(k, tS)
    const at = f.directLink?.decide(now) ?? -1
    if (at >= 0) this.clock.post(at, this.directKind, flow, k, 0, 0, now)
    if (this.relays[f.from].alive) {
      const id = this.free.length > 0 ? this.free.pop() as number : this.packets.length
      this.packets[id] = { flow, seq: k, sentAt: now, ttl: DEFAULT_TTL, link: undefined, visited: [f.from] }
      this.hop(id, f.from, this.relays[f.from].nextHop.get(f.to))
    }
    // Paced from the start time, so rounding never drifts the rate.
    const next = this.at(f.startS) + (k + 1) * f.periodMs
    if (next < this.at(f.stopS)) this.clock.post(next, this.sendKind, flow, k + 1)
  }

  /** Sends packet `id` on from relay `at` to `next` (its route's next hop), or drops it. */
  private hop (id: number, at: number, next: number | undefined): void {
    const p = this.packets[id] as Packet
    const link = next === undefined ? undefined : this.links.get(at, next)
    const arrival = link === undefined ? -1 : link.decide(this.clock.now)
    if (arrival < 0) { this.retire(id); return }
    p.link = link
    this.clock.post(arrival, this.hopKind, id)
  }

  private arrive (id: number): void {
    const p = this.packets[id] as Packet
    const link = p.link as SimLink
    const v = link.to
    if (!link.release() || !this.relays[v].alive) { this.retire(id); return }
    const f = this.flows[p.flow]
    const next = v === f.to ? undefined : this.relays[v].nextHop.get(f.to)
    const passed = this.passed
    passed.visited = p.visited
    passed.at = v
    // The model has no boot epochs in packets: its windows are the relays passed, which ignore it.
    const verdict = forwardVerdict(v, f.from, f.to, p.ttl, 0, p.seq, passed, next !== undefined)
    if (verdict === Verdict.DELIVER) f.mesh.arrived(p.seq, this.clock.now - p.sentAt)
    if (verdict !== Verdict.FORWARD) { this.retire(id); return }
    p.ttl--
    this.hop(id, v, next)
  }

  private directArrive (flow: number, seq: number, sentAt: number): void {
    const f = this.flows[flow]
    if ((f.directLink as SimLink).release()) f.direct.arrived(seq, this.clock.now - sentAt)
  }

  private retire (id: number): void {
    this.packets[id] = undefined
    this.free.push(id)
  }

  /** Virtual time (ms) of scenario time `s`. */
  private at (s: number): number { return this.zeroMs + s * 1000 }
}
