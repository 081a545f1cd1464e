import { performance } from 'node:perf_hooks'
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { silentLogger } from '../../src/logging.js'
import { Prng } from '../../src/prng.js'
import { REPORT_CHECK_MS, TICK_MS } from '../../prober/constants.js'
import { DEFAULT_NEIGHBOUR_POLICY } from '../../topology/neighbours.js'
import { convergenceMs } from '../convergence.js'
import { linkTimeline, type Scenario } from '../scenario.js'
import type { EventResult, SimResult } from '../types.js'
import { DRAIN_MS, FINAL_ROUTES_ALL_MAX, STARTUP_SPREAD_MS, WARMUP_LIMIT_MS, WARMUP_POLL_MS, WARMUP_REST_MS } from './constants.js'
import { computeSpacingFor } from '../../controller/core/route-scheduling.js'
import { ControlPlane } from './control-plane.js'
import { finalRoutes } from './final-routes.js'
import { FlowRunner } from './flow-runner.js'
import { controlDelays, meshIndexOf } from './mesh-setup.js'
import { ProbeEngine } from './probe-engine.js'
import { mixSeed, Stream } from './seeds.js'
import { LinkTable } from './sim-link.js'
import { SimRelay, type MeshIndex } from './sim-relay.js'
import type { ModelOptions, ModelStats } from './types.js'
import { VirtualClock } from './virtual-clock.js'

/**
 * Runs a scenario in model mode: the whole mesh in this process on a virtual clock, with the real
 * estimators, topology engine, controller logic and forwarding tables over simulated links. Same
 * scenario and seed, same result (wall_ms aside).
 */
export async function runModel (scenario: Scenario, opts: ModelOptions = {}): Promise<SimResult> {
  return await new ModelRun(scenario, opts).run()
}

/** One model-mode run; `stats()` may be read during and after it. */
export class ModelRun {
  private readonly s: Scenario
  private readonly opts: ModelOptions
  private readonly mesh: MeshIndex
  private readonly clock = new VirtualClock()
  private readonly links: LinkTable
  private readonly probes: ProbeEngine
  private readonly relays: SimRelay[] = []
  private readonly control: ControlPlane
  private readonly flows: FlowRunner
  /**
   * The Reporter's checks, spread over the ticks of each REPORT_CHECK_MS as relays' timers fall: slot k holds
   * the relays checked at ticks ≡ k modulo the check period.
   */
  private readonly reportSlots: Array<Set<number>> = Array.from({ length: REPORT_CHECK_MS / TICK_MS }, () => new Set())
  /** Virtual time (ms) of the scenario's t = 0: the end of the warm-up. */
  private zeroMs = 0
  private final: Pick<SimResult, 'final_routes' | 'table_versions'> = { final_routes: {}, table_versions: 0 }

  constructor (scenario: Scenario, opts: ModelOptions = {}) {
    this.s = scenario
    this.opts = opts
    this.mesh = meshIndexOf(scenario)
    this.links = new LinkTable(this.clock, scenario, this.mesh.ids, scenario.seed)
    const relays = this.relays
    this.probes = new ProbeEngine({
      clock: this.clock,
      links: this.links,
      hooks: { linkChange: (owner, peer, up) => { relays[owner].linkChange(peer, up) }, epoch: (r) => relays[r].epoch }
    }, {
      ids: this.mesh.ids,
      monitor: scenario.probe_interval_ms === undefined ? {} : { intervalMs: scenario.probe_interval_ms },
      tickMs: TICK_MS,
      seed: scenario.seed
    })
    // Links probed in batches (probe-engine.ts, quiet links) are brought up to date before a change.
    this.links.env.beforeChange = (from, to) => { this.probes.linkWillChange(from, to) }
    this.flows = new FlowRunner({ clock: this.clock, links: this.links, relays }, { scenario, mesh: this.mesh, seed: scenario.seed })
    const watched = this.flows.destinations()
    const logger = silentLogger()
    for (let i = 0; i < this.mesh.ids.length; i++) {
      relays.push(new SimRelay({
        clock: this.clock,
        logger,
        probes: this.probes,
        hooks: { report: (r, rep) => { this.control.report(r, rep) }, routesChanged: () => { this.flows.routesChanged() } }
      }, { index: i, mesh: this.mesh, watched }))
    }
    this.control = new ControlPlane({ clock: this.clock, relays }, {
      mesh: this.mesh,
      delayMs: controlDelays(scenario, opts.controlDelayMs),
      neighbourPolicy: { ...DEFAULT_NEIGHBOUR_POLICY, fullMeshMax: scenario.full_mesh_max ?? DEFAULT_NEIGHBOUR_POLICY.fullMeshMax },
      computeSpacingMs: opts.computeSpacingMs ?? computeSpacingFor(this.mesh.ids.length)
    })
  }

  stats (): ModelStats {
    let computations = 0
    let computeWallMs = 0
    let reportWallMs = 0
    let costChanges = 0
    for (const c of this.control.runs) {
      computations += c.stats.computations
      computeWallMs += c.stats.computeWallMs
      reportWallMs += c.intakeStats.wallMs
      costChanges += c.intakeStats.costChanges
    }
    let probedLinks = 0
    for (const r of this.relays) for (const _ of this.probes.peers(r.index)) probedLinks++
    return { events: this.clock.processed, probes: this.probes.probes, monitors: this.probes.created, monitorsBuilt: this.probes.built, computations, computeWallMs, reportWallMs, costChanges, probedLinks, warmupMs: this.zeroMs, lateChanges: this.probes.lateChanges }
  }

  async run (): Promise<SimResult> {
    const t0 = performance.now()
    this.startMesh()
    await this.warmUp()
    this.zeroMs = this.clock.now
    this.scheduleScenario()
    const endMs = this.zeroMs + this.s.duration_s * 1000
    for (let sec = 1; sec < this.s.duration_s + 1; sec++) {
      this.clock.runUntil(Math.min(endMs, this.zeroMs + sec * 1000))
      this.opts.onProgress?.(Math.min(sec, this.s.duration_s))
      // Let signals and I/O in between simulated seconds; the run itself never waits on them.
      await yieldToLoop()
    }
    this.clock.runUntil(endMs + DRAIN_MS)
    return {
      scenario: this.s.name,
      mode: 'model',
      seed: this.s.seed,
      duration_s: this.s.duration_s,
      relays: this.mesh.ids.length,
      wall_ms: Math.round(performance.now() - t0),
      flows: this.flows.results(),
      events: this.eventResults(),
      ...this.final
    }
  }

  /** Controller and relays start (relays spread over a moment), and the prober tick begins. */
  private startMesh (): void {
    this.control.controllerUp()
    const spread = new Prng(mixSeed(this.s.seed, Stream.startup))
    for (const r of this.relays) this.clock.setTimeout(() => { this.startRelay(r.index) }, Math.floor(spread.next() * STARTUP_SPREAD_MS))
    this.clock.setInterval(() => { this.tick() }, TICK_MS)
  }

  /** Runs until routes have settled, as process mode waits before its t = 0 (constants.ts). */
  private async warmUp (): Promise<void> {
    let version = -1
    let restingSince = 0
    while (this.clock.now < WARMUP_LIMIT_MS) {
      this.clock.runUntil(this.clock.now + WARMUP_POLL_MS)
      const c = this.control.controller
      if (c === undefined || c.tableVersion !== version || !c.routesEveryPair()) {
        version = c?.tableVersion ?? -1
        restingSince = this.clock.now
      }
      if (this.clock.now - restingSince >= WARMUP_REST_MS) return
      await yieldToLoop()
    }
  }

  private scheduleScenario (): void {
    const at = (s: number): number => this.zeroMs + s * 1000
    for (const step of linkTimeline(this.s)) {
      const from = this.mesh.index.get(step.from) as number
      const to = this.mesh.index.get(step.to) as number
      this.clock.setTimeout(() => { this.links.applyStep(from, to, step.set); this.flows.applyStep(from, to, step.set) }, at(step.at_s) - this.clock.now)
    }
    for (const e of this.s.events) this.clock.setTimeout(() => { this.event(e) }, at(e.at_s) - this.clock.now)
    this.flows.start(this.zeroMs)
    this.clock.setTimeout(() => { this.snapshot() }, at(this.s.duration_s) - this.clock.now)
  }

  /** The prober tick of every relay, and the Reporter checks of those whose 50 ms slot this is. */
  private tick (): void {
    this.probes.tick()
    const slot = Math.round(this.clock.now / TICK_MS) % this.reportSlots.length
    for (const i of this.reportSlots[slot]) this.relays[i].checkReport()
  }

  private startRelay (i: number): void {
    this.links.setRelayDown(i, false)
    this.relays[i].start()
    for (const slot of this.reportSlots) slot.delete(i)
    this.reportSlots[Math.ceil(this.clock.now / TICK_MS) % this.reportSlots.length].add(i)
    this.control.relayStarted(i)
  }

  private event (e: Scenario['events'][number]): void {
    const i = e.relay === undefined ? -1 : this.mesh.index.get(e.relay) as number
    switch (e.kind) {
      case 'relay_down':
        if (!this.relays[i].alive) return
        this.relays[i].stop()
        this.links.setRelayDown(i, true)
        this.control.relayStopped(i)
        return
      case 'relay_up':
        if (!this.relays[i].alive) this.startRelay(i)
        return
      case 'controller_down': this.control.controllerDown(); return
      case 'controller_up': this.control.controllerUp(); return
      case 'link': // applied through linkTimeline
    }
  }

  /** The end of the scenario: the controller's tables and the version count, before the drain. */
  private snapshot (): void {
    const last = this.control.runs[this.control.runs.length - 1]
    const all = this.mesh.ids.map((_, i) => i)
    const wantAll = (this.opts.finalRoutes ?? (all.length <= FINAL_ROUTES_ALL_MAX ? 'all' : 'flows')) === 'all'
    const ends = [...new Set(this.s.flows.flatMap((f) => [f.from, f.to]))].map((id) => this.mesh.index.get(id) as number).sort((a, b) => a - b)
    this.final = {
      final_routes: finalRoutes(last, this.mesh.ids, wantAll ? all : ends, wantAll ? all : ends),
      table_versions: this.control.runs.reduce((n, c) => n + c.stats.versions, 0)
    }
  }

  /** One result per scenario event, in time order, with convergence from the rollouts' end times. */
  private eventResults (): EventResult[] {
    const changesS = this.control.versionTimes.map((t) => (t - this.zeroMs) / 1000)
    const events = [...this.s.events].sort((a, b) => a.at_s - b.at_s)
    return events.map((e) => {
      const untilS = events.find((o) => o.at_s > e.at_s)?.at_s ?? this.s.duration_s
      const target = e.relay ?? (e.between !== undefined ? `${e.between[0]}–${e.between[1]}` : 'controller')
      const out: EventResult = { t_s: e.at_s, kind: e.kind, target, convergence_ms: convergenceMs(e.at_s, changesS, untilS) }
      if (e.label !== undefined) out.label = e.label
      return out
    })
  }
}
