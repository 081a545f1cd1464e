import { performance } from 'node:perf_hooks'
import { formatHostPort, type HostPort } from '../../src/transport/address.js'
import { convergenceMs } from '../convergence.js'
import { impairParamsOf, initialLinkState, linkTimeline, type LinkState, type Scenario } from '../scenario.js'
import type { EventResult, FlowResult, SimResult } from '../types.js'
import { ProcessMesh } from './mesh.js'
import { FlowDriver } from './traffic.js'

export interface ProcessRunOptions {
  /** Called about once a second with the scenario time reached (s). */
  onProgress?: (tS: number) => void
  /** Called with what happens, for the CLI's log. */
  onNote?: (msg: string, fields?: Record<string, unknown>) => void
}

/** Before scenario time 0 every relay must route to every other and tables must rest this long. */
const SETTLE_MS = 3000
const WARMUP_LIMIT_MS = 60_000
const PACE_MS = 5
const POLL_MS = 200

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/**
 * Process mode: the real controller and relay daemons as separate processes on loopback, each
 * relay impairing what it sends to each peer as the scenario says (relay --emulate-links), real
 * tunnel traffic through the mesh, and the same traffic over the direct path alone for comparison.
 */
export async function runProcess (s: Scenario, opts: ProcessRunOptions = {}): Promise<SimResult> {
  const wall0 = performance.now()
  const note = opts.onNote ?? (() => {})
  const mesh = new ProcessMesh({ fullMeshMax: s.full_mesh_max, relayIds: s.relays.map((r) => r.id) })
  const flows: FlowDriver[] = []
  let pacer: NodeJS.Timeout | undefined
  let actionTimers: NodeJS.Timeout[] = []
  try {
    await mesh.startController()
    note('controller started', { control: formatHostPort(mesh.controlAddr as HostPort), http: mesh.controllerHttp })
    // Flows first: their sinks are the tunnels' targets.
    for (const [i, f] of s.flows.entries()) {
      const direct = initialLinkState(s, f.from, f.to)
      flows.push(new FlowDriver(f.id, f.pps, f.size, direct === undefined ? undefined : impairParamsOf(direct), s.seed * 1000 + i))
    }
    const targets = await Promise.all(flows.map(async (d) => await d.open()))
    await Promise.all(s.relays.map(async (r) => {
      const tunnels = s.flows.flatMap((f, i) => (f.from === r.id ? [{ to: f.to, target: targets[i] }] : []))
      const relay = await mesh.startRelay({ id: r.id, tunnels, probeIntervalMs: s.probe_interval_ms })
      s.flows.forEach((f, i) => { if (f.from === r.id) flows[i].setIngress(relay.ingress.get(f.to) as HostPort) })
    }))
    note('relays started', { relays: mesh.relays.size })
    // Every directed pair gets its scenario character; pairs the scenario does not connect, an outage.
    const pairs = s.relays.flatMap((a) => s.relays.filter((b) => b.id !== a.id).map((b) => [a.id, b.id] as const))
    await Promise.all(pairs.map(async ([a, b]) => { await mesh.setLink(a, b, initialLinkState(s, a, b) ?? { outage: true }) }))
    await mesh.settle(SETTLE_MS, WARMUP_LIMIT_MS)
    note('mesh warmed up', { ms: Math.round(performance.now() - wall0) })

    // Scenario time starts now.
    const t0 = performance.now()
    const tS = (): number => (performance.now() - t0) / 1000
    const t0Wall = Date.now()
    let last = performance.now()
    pacer = setInterval(() => {
      const now = performance.now()
      const t = (now - t0) / 1000
      s.flows.forEach((f, i) => {
        if (t >= f.start_s && t < (f.stop_s ?? s.duration_s)) flows[i].pace(now - last, t)
      })
      last = now
    }, PACE_MS)

    const timeline = linkTimeline(s)
    const actions: Array<{ at_s: number, run: () => Promise<void> }> = timeline.map((c) => ({
      at_s: c.at_s,
      run: async () => {
        await mesh.setLink(c.from, c.to, c.set)
        s.flows.forEach((f, i) => { if (f.from === c.from && f.to === c.to) flows[i].setDirect(impairParamsOf(c.set)) })
      }
    }))
    for (const e of s.events) {
      if (e.kind === 'relay_down') actions.push({ at_s: e.at_s, run: async () => { await mesh.relays.get(e.relay as string)?.daemon.kill() } })
      if (e.kind === 'relay_up') {
        actions.push({
          at_s: e.at_s,
          run: async () => {
            const r = mesh.relays.get(e.relay as string)
            if (r === undefined || r.daemon.running) return
            await r.daemon.start()
            // A restarted relay's emulator starts clean: give its links their current character back.
            await Promise.all(s.relays.filter((o) => o.id !== r.id).map(async (o) => { await mesh.setLink(r.id, o.id, currentState(s, r.id, o.id, tS())) }))
          }
        })
      }
      if (e.kind === 'controller_down') actions.push({ at_s: e.at_s, run: async () => { await mesh.controller?.kill() } })
      if (e.kind === 'controller_up') actions.push({ at_s: e.at_s, run: async () => { if (mesh.controller !== undefined && !mesh.controller.running) await mesh.controller.start() } })
    }
    actions.sort((a, b) => a.at_s - b.at_s)
    // Each action runs on its own timer, at its time: the polling loop below sleeps POLL_MS between
    // topology reads and would apply them up to that late, while convergence counts from the
    // scenario's time. Actions due at one time run together; later ones wait for earlier ones.
    let applied: Promise<void> = Promise.resolve()
    const runAt = (group: typeof actions): void => {
      applied = applied.then(async () => {
        await Promise.all(group.map(async (a) => { await a.run().catch((err: Error) => { note('scenario action failed', { err: err.message, at_s: a.at_s }) }) }))
      })
    }
    actionTimers = [...new Set(actions.map((a) => a.at_s))].map((at) =>
      setTimeout(() => { runAt(actions.filter((a) => a.at_s === at)) }, Math.max(0, t0 + at * 1000 - performance.now())))

    const pathLog = new Map<string, Array<{ t_s: number, path: string[] }>>(s.flows.map((f) => [f.id, []]))
    let finalRoutes: SimResult['final_routes'] = {}
    let nextProgress = 0
    let version = 0
    while (tS() < s.duration_s) {
      const topo = await mesh.topology()
      if (topo !== undefined) {
        version = topo.version
        finalRoutes = Object.fromEntries(Object.entries(topo.routes).map(([src, m]) => [src, Object.fromEntries(Object.entries(m).map(([d, r]) => [d, { next_hop: r.next_hop, path: r.path }]))]))
        for (const f of s.flows) {
          const path = topo.routes[f.from]?.[f.to]?.path ?? []
          const log = pathLog.get(f.id) as Array<{ t_s: number, path: string[] }>
          const prev = log[log.length - 1]?.path
          if (prev === undefined || prev.join('>') !== path.join('>')) log.push({ t_s: Math.round(tS() * 1000) / 1000, path })
        }
      }
      if (tS() >= nextProgress) { opts.onProgress?.(Math.min(s.duration_s, tS())); nextProgress = Math.floor(tS()) + 1 }
      await sleep(POLL_MS)
    }
    clearInterval(pacer)
    pacer = undefined
    for (const t of actionTimers) clearTimeout(t)
    await applied
    await sleep(500)
    opts.onProgress?.(s.duration_s)

    const changesS = mesh.tableChanges.map((ms) => (ms - t0Wall) / 1000)
    const eventList = [
      ...timeline.map((c) => ({ t_s: c.at_s, kind: 'link', target: `${c.from}–${c.to}`, label: c.label })),
      ...s.events.filter((e) => e.kind !== 'link').map((e) => ({ t_s: e.at_s, kind: e.kind, target: e.relay ?? 'controller', label: e.label }))
    ]
    const events = dedupeLinkEvents(eventList).sort((a, b) => a.t_s - b.t_s)
    const eventResults: EventResult[] = events.map((e, i) => ({
      ...e,
      convergence_ms: convergenceMs(e.t_s, changesS, events.slice(i + 1).find((n) => n.t_s > e.t_s)?.t_s ?? s.duration_s)
    }))
    const flowResults: FlowResult[] = s.flows.map((f, i) => {
      const d = flows[i]
      const meshSeries = d.mesh.series(s.duration_s)
      const directSeries = d.direct.series(s.duration_s)
      return {
        id: f.id,
        from: f.from,
        to: f.to,
        sent: d.mesh.sentCount,
        delivered: d.mesh.deliveredCount,
        loss: round4(d.mesh.loss),
        direct_loss: round4(d.direct.loss),
        p50_ms: d.mesh.percentile(50),
        p99_ms: d.mesh.percentile(99),
        direct_p50_ms: d.direct.percentile(50),
        direct_p99_ms: d.direct.percentile(99),
        path_changes: pathLog.get(f.id) ?? [],
        series: meshSeries.map((m, t) => ({ ...m, direct_loss: directSeries[t].loss, direct_p50_ms: directSeries[t].p50_ms }))
      }
    })
    return {
      scenario: s.name,
      mode: 'process',
      seed: s.seed,
      duration_s: s.duration_s,
      relays: s.relays.length,
      wall_ms: Math.round(performance.now() - wall0),
      flows: flowResults,
      events: eventResults,
      final_routes: finalRoutes,
      table_versions: version
    }
  } finally {
    if (pacer !== undefined) clearInterval(pacer)
    for (const t of actionTimers) clearTimeout(t)
    for (const f of flows) f.close()
    await mesh.stop()
  }
}

const round4 = (x: number): number => Math.round(x * 10_000) / 10_000

/** A link change applies to both directions; report it once per link and time. */
function dedupeLinkEvents<T extends { t_s: number, kind: string, target: string }> (list: T[]): T[] {
  const seen = new Set<string>()
  return list.filter((e) => {
    if (e.kind !== 'link') return true
    const [a, b] = e.target.split('–')
    const key = `${e.t_s}/${[a, b].sort().join('–')}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/** The state of from→to at scenario time t: the initial state with every change up to t applied. */
function currentState (s: Scenario, from: string, to: string, t: number): LinkState {
  let st: LinkState = initialLinkState(s, from, to) ?? { outage: true }
  for (const c of linkTimeline(s)) if (c.from === from && c.to === to && c.at_s <= t) st = { ...st, ...c.set }
  return st
}
