import { performance } from 'node:perf_hooks'
import { formatHostPort, type HostPort } from '../src/transport/address.js'
import { linksTable } from '../topology/render-table.js'
import { parseSnapshot } from '../topology/snapshot.js'
import { oneWayDelayMs, impairParamsOf, type LinkState } from './scenario.js'
import { ProcessMesh, type TopologyDoc } from './process/mesh.js'
import { FlowDriver } from './process/traffic.js'

/** Five relays in five cities; one-way delays follow from the distances (sim/scenario.ts). */
export const DEMO_RELAYS = [
  { id: 'london', lat: 51.5, lon: -0.1 },
  { id: 'frankfurt', lat: 50.1, lon: 8.7 },
  { id: 'newyork', lat: 40.7, lon: -74.0 },
  { id: 'singapore', lat: 1.35, lon: 103.8 },
  { id: 'tokyo', lat: 35.7, lon: 139.7 }
]
const FLOW = { from: 'london', to: 'tokyo', pps: 50, size: 200 }
const WINDOW_S = 5

export interface DemoOptions {
  /** The controller's HTTP address (the web map is at /). */
  http: HostPort
  /** Seconds between impairment events. */
  eventEveryS: number
  /** Where the live view goes; a TTY gets a redrawn screen, anything else a line every 5 s. */
  out: NodeJS.WriteStream
  note: (msg: string) => void
}

interface DemoEvent { tS: number, text: string }

/**
 * `relaymesh demo`: a controller and five relays as real processes on this machine, links that
 * behave like the distances between their cities, a London→Tokyo audio-sized flow carried through
 * the mesh and, for comparison, over the direct link alone, and an impairment on the current path
 * every `eventEveryS` seconds (loss, then an outage, each healed by the next event).
 */
export class Demo {
  private readonly mesh: ProcessMesh
  private readonly flow: FlowDriver
  private readonly opts: DemoOptions
  private readonly events: DemoEvent[] = []
  private readonly base = new Map<string, LinkState>()
  private timers: NodeJS.Timeout[] = []
  private t0 = 0
  private step = 0
  private impaired: [string, string] | undefined
  private topo: TopologyDoc | undefined
  private stopped = false

  constructor (opts: DemoOptions) {
    this.opts = opts
    this.mesh = new ProcessMesh({ controllerHttp: opts.http, relayIds: DEMO_RELAYS.map((r) => r.id) })
    for (const a of DEMO_RELAYS) {
      for (const b of DEMO_RELAYS) {
        if (a.id !== b.id) this.base.set(`${a.id}>${b.id}`, { delay_ms: Math.round(oneWayDelayMs(a, b) * 10) / 10, jitter_ms: 1 })
      }
    }
    this.flow = new FlowDriver('demo', FLOW.pps, FLOW.size, impairParamsOf(this.base.get(`${FLOW.from}>${FLOW.to}`) as LinkState), 1)
  }

  get mapUrl (): string { return `${this.mesh.controllerHttp}/` }

  async start (): Promise<void> {
    const note = this.opts.note
    await this.mesh.startController()
    note(`controller up; web map at ${this.mapUrl}`)
    const target = await this.flow.open()
    for (const r of DEMO_RELAYS) {
      const tunnels = r.id === FLOW.from ? [{ to: FLOW.to, target }] : []
      const relay = await this.mesh.startRelay({ id: r.id, tunnels })
      if (r.id === FLOW.from) this.flow.setIngress(relay.ingress.get(FLOW.to) as HostPort)
      note(`relay ${r.id} up at ${formatHostPort(relay.mesh)}`)
    }
    await Promise.all([...this.base].map(async ([k, st]) => {
      const [a, b] = k.split('>')
      await this.mesh.setLink(a, b, st)
    }))
    note('links emulated; waiting for routes to settle')
    await this.mesh.settle(3000, 15_000)
    this.t0 = performance.now()
    let last = performance.now()
    this.timers.push(setInterval(() => {
      const now = performance.now()
      this.flow.pace(now - last, (now - this.t0) / 1000)
      last = now
    }, 5))
    this.timers.push(setInterval(() => { void this.refresh() }, 1000))
    this.timers.push(setInterval(() => { void this.nextEvent() }, this.opts.eventEveryS * 1000))
    this.log('mesh up; traffic flowing')
  }

  private tS (): number { return (performance.now() - this.t0) / 1000 }

  private log (text: string): void {
    this.events.push({ tS: this.tS(), text })
    if (this.events.length > 6) this.events.shift()
    if (this.opts.out.isTTY !== true) this.opts.out.write(`[${this.tS().toFixed(0).padStart(4)} s] ${text}\n`)
  }

  /** Impairs a link on the current path, or heals the last one: loss, heal, outage, heal, … */
  private async nextEvent (): Promise<void> {
    if (this.stopped) return
    const kind = this.step++ % 4
    if (this.impaired !== undefined) {
      const [a, b] = this.impaired
      await this.setBoth(a, b, { loss: 0, outage: false })
      this.log(`healed ${a}–${b}`)
      this.impaired = undefined
      return
    }
    const path = this.topo?.routes[FLOW.from]?.[FLOW.to]?.path ?? []
    if (path.length < 2) return
    const i = Math.floor(Math.random() * (path.length - 1))
    const link: [string, string] = [path[i], path[i + 1]]
    this.impaired = link
    if (kind === 0) {
      await this.setBoth(link[0], link[1], { loss: 0.3 })
      this.log(`${link[0]}–${link[1]} now loses 30% (it carries the ${FLOW.from}→${FLOW.to} flow)`)
    } else {
      await this.setBoth(link[0], link[1], { outage: true })
      this.log(`${link[0]}–${link[1]} is down (it carries the ${FLOW.from}→${FLOW.to} flow)`)
    }
  }

  private async setBoth (a: string, b: string, st: LinkState): Promise<void> {
    try {
      await this.mesh.setLink(a, b, st)
      await this.mesh.setLink(b, a, st)
    } catch (err) {
      // Called from a timer: report and carry on rather than take the demo down.
      this.log(`could not change ${a}–${b}: ${(err as Error).message}`)
      return
    }
    if ((a === FLOW.from && b === FLOW.to) || (a === FLOW.to && b === FLOW.from)) this.flow.setDirect(impairParamsOf(st))
  }

  private async refresh (): Promise<void> {
    if (this.stopped) return
    const topo = await this.mesh.topology()
    if (topo !== undefined) {
      const before = this.topo?.routes[FLOW.from]?.[FLOW.to]?.path.join(' → ')
      const now = topo.routes[FLOW.from]?.[FLOW.to]?.path.join(' → ')
      this.topo = topo
      if (before !== undefined && now !== undefined && before !== now) this.log(`path changed: ${now}`)
    }
    if (this.opts.out.isTTY === true) this.opts.out.write('\x1b[H\x1b[2J' + this.screen())
  }

  /** The live view: path, flow figures over the last few seconds, links, recent events. */
  screen (): string {
    const t = this.tS()
    const recent = (stats: FlowDriver['mesh']): string => {
      const buckets = stats.series(Math.floor(t)).slice(-WINDOW_S - 1, -1)
      const sent = buckets.reduce((n, b) => n + b.sent, 0)
      const lost = buckets.reduce((n, b) => n + b.loss * b.sent, 0)
      const p50 = buckets.map((b) => b.p50_ms).filter((x): x is number => x !== null)
      return `${sent === 0 ? '—' : ((lost / sent) * 100).toFixed(1) + '%'} lost, ${p50.length === 0 ? '—' : (p50.reduce((a, b) => a + b, 0) / p50.length).toFixed(0) + ' ms'} one-way`
    }
    const route = this.topo?.routes[FLOW.from]?.[FLOW.to]
    const lines = [
      `relaymesh demo · ${t.toFixed(0)} s · table version ${this.topo?.version ?? '—'} · web map: ${this.mapUrl} · Ctrl-C stops`,
      '',
      `${FLOW.from} → ${FLOW.to}: ${route === undefined ? 'no route yet' : `${route.path.join(' → ')} (cost ${route.cost ?? '∞'}, backup first hop ${route.backup ?? 'none'})`}`,
      `  through the mesh, last ${WINDOW_S} s: ${recent(this.flow.mesh)}`,
      `  direct link only, last ${WINDOW_S} s: ${recent(this.flow.direct)}`,
      ''
    ]
    if (this.topo !== undefined) {
      try { lines.push(linksTable(parseSnapshot(this.topo))) } catch { /* a snapshot mid-change: skip a frame */ }
    }
    lines.push('', 'events:', ...this.events.map((e) => `  ${e.tS.toFixed(0).padStart(4)} s  ${e.text}`), '')
    return lines.join('\n')
  }

  /** A one-line summary of the whole run, for the end. */
  summary (): string {
    const m = this.flow.mesh; const d = this.flow.direct
    return `${FLOW.from}→${FLOW.to}: ${m.sentCount} packets; through the mesh ${(m.loss * 100).toFixed(2)}% lost, p50 ${m.percentile(50) ?? '—'} ms; direct link ${(d.loss * 100).toFixed(2)}% lost, p50 ${d.percentile(50) ?? '—'} ms`
  }

  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    for (const t of this.timers) clearInterval(t)
    this.flow.close()
    await this.mesh.stop()
  }
}
