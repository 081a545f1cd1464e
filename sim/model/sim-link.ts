import { ImpairmentModel } from '../../src/transport/impair/model.js'
import { impairParamsOf, initialLinkState, type LinkState, type Scenario } from '../scenario.js'
import { mixSeed, Stream } from './seeds.js'

/** What links share: the time, to log when outages begin and end, and a count of those changes. */
export interface LinkEnv {
  readonly clock: { readonly now: number }
  /**
   * Outage changes on any link sharing this env. Unchanged since a packet left means no outage can
   * have caught it, which spares a lookup per probe.
   */
  outageChanges: number
  /**
   * Called just before the directed link from→to changes state (a schedule step, an event, an
   * end going down or up), while its models still hold the old one.
   */
  beforeChange: (from: number, to: number) => void
}

/**
 * One direction of one link: the impairment model (src/transport/impair/model.ts) that decides
 * each data packet's fate, fed the scenario's link state as it changes.
 *
 * Probes cross *probe models* of the same link: impairment models that follow the same state but
 * draw their own random numbers, one per probing monitor and direction (probe-engine.ts). A model
 * must see its packets in time order, and a probe's echo leg is decided when the probe is sent, so
 * a model of its own keeps that order without an event per leg. What differs from one shared
 * model: probes and data lose independently at the same rates (a burst that eats data does not
 * eat the same probes), and a rate limit queues probes behind probes only.
 *
 * A relay that is down answers nothing and forwards nothing: every link touching it behaves as an
 * outage, on top of whatever the scenario says, until the relay is back. Outage changes are
 * logged, so a packet's arrival can be checked against the outage state at that instant after the
 * fact.
 */
export class SimLink {
  readonly from: number
  readonly to: number
  readonly model: ImpairmentModel
  private readonly env: LinkEnv
  private readonly probeModels = new Set<ImpairmentModel>()
  private state: LinkState
  private downEnds: number
  /** Outage transitions, as [time, 1 | 0] pairs in time order; starts with the state at creation. */
  private readonly outages: number[]

  constructor (env: LinkEnv, from: number, to: number, state: LinkState, seed: number, downEnds = 0) {
    this.env = env
    this.from = from
    this.to = to
    this.state = state
    this.downEnds = downEnds
    this.model = new ImpairmentModel(this.params(), seed)
    this.outages = [env.clock.now, this.outage() ? 1 : 0]
  }

  /** A model for probes across this link, following its state until dropped. */
  probeModel (seed: number): ImpairmentModel {
    const m = new ImpairmentModel(this.params(), seed)
    this.probeModels.add(m)
    return m
  }

  dropProbeModel (m: ImpairmentModel): void { this.probeModels.delete(m) }

  /** Applies a schedule step or link event: only the fields it names change. */
  apply (set: LinkState): void {
    this.state = { ...this.state, ...set }
    this.update()
  }

  /** One end went down (+1) or came back (−1). */
  endDown (delta: number): void {
    this.downEnds += delta
    this.update()
  }

  /** When a data packet sent now arrives, or -1 when it is lost. */
  decide (now: number): number { return this.model.decide(now) }

  /** At a data packet's arrival: false when an outage began while it was in flight. */
  release (): boolean { return this.model.release() }

  /** Whether the link was in outage at virtual time `t` (at or after its creation). */
  outageAt (t: number): boolean {
    const o = this.outages
    let i = o.length - 2
    while (i > 0 && o[i] > t) i -= 2
    return o[i + 1] === 1
  }

  private update (): void {
    this.env.beforeChange(this.from, this.to)
    const p = this.params()
    this.model.set(p)
    for (const m of this.probeModels) m.set(p)
    const out = this.outage() ? 1 : 0
    if (this.outages[this.outages.length - 1] !== out) {
      this.outages.push(this.env.clock.now, out)
      this.env.outageChanges++
    }
  }

  private params (): ReturnType<typeof impairParamsOf> {
    return { ...impairParamsOf(this.state), outage: this.outage() }
  }

  private outage (): boolean { return this.state.outage === true || this.downEnds > 0 }
}

/**
 * Every directed link the mesh uses, created on first use (a 1,000-relay full topology has a
 * million pairs, of which relays probe a few percent). A link created late starts in the state the
 * scenario's schedule has reached by then, so creation time never changes what a link is like.
 */
export class LinkTable {
  readonly env: LinkEnv
  private readonly scenario: Scenario
  private readonly ids: readonly string[]
  private readonly seed: number
  private readonly links = new Map<number, SimLink>()
  /** Links touching each relay, both directions, for relay_down. */
  private readonly touching: SimLink[][]
  private readonly down: Uint8Array
  /** Pairs some schedule step or link event has changed: their state now. */
  private readonly stepped = new Map<number, LinkState>()
  /** Whether each pair is connected at all; memoised because initialLinkState scans the scenario. */
  private readonly connected = new Map<number, LinkState | null>()

  constructor (clock: { readonly now: number }, scenario: Scenario, ids: readonly string[], seed: number) {
    this.env = { clock, outageChanges: 0, beforeChange: () => {} }
    this.scenario = scenario
    this.ids = ids
    this.seed = seed
    this.touching = ids.map(() => [])
    this.down = new Uint8Array(ids.length)
  }

  /** The directed link from→to, or undefined when the scenario does not connect the pair. */
  get (from: number, to: number): SimLink | undefined {
    const key = from * this.ids.length + to
    const l = this.links.get(key)
    if (l !== undefined) return l
    const state = this.stepped.get(key) ?? this.initial(key, from, to)
    if (state === undefined) return undefined
    const made = new SimLink(this.env, from, to, state, mixSeed(this.seed, Stream.link, from, to), this.down[from] + this.down[to])
    this.links.set(key, made)
    this.touching[from].push(made)
    this.touching[to].push(made)
    return made
  }

  /** The scenario's state of from→to at the start, or undefined when the pair is not connected. */
  initialState (from: number, to: number): LinkState | undefined {
    return this.initial(from * this.ids.length + to, from, to)
  }

  /** A schedule step or link event on from→to. */
  applyStep (from: number, to: number, set: LinkState): void {
    const key = from * this.ids.length + to
    const cur = this.stepped.get(key) ?? this.initial(key, from, to)
    if (cur === undefined) return
    this.stepped.set(key, { ...cur, ...set })
    this.links.get(key)?.apply(set)
  }

  setRelayDown (relay: number, down: boolean): void {
    if ((this.down[relay] === 1) === down) return
    this.down[relay] = down ? 1 : 0
    for (const l of this.touching[relay]) l.endDown(down ? 1 : -1)
  }

  private initial (key: number, from: number, to: number): LinkState | undefined {
    let s = this.connected.get(key)
    if (s === undefined) {
      s = initialLinkState(this.scenario, this.ids[from], this.ids[to]) ?? null
      this.connected.set(key, s)
    }
    return s ?? undefined
  }
}
