import { readFile } from 'node:fs/promises'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { ConfigError } from '../src/errors.js'
import type { ImpairParams } from '../src/transport/impair/model.js'
import { isReservedId } from '../src/wire/relay-id.js'

/**
 * A simulation scenario (docs/simulation.md): relays, the links between them with impairments that
 * change over time, traffic flows, and events. Both modes (process and model) run the same file.
 * Times are seconds from the start; delays are one-way milliseconds; loss is a fraction 0–1.
 */

const id = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'ids are 1–64 letters, digits, . _ -').refine((v) => !isReservedId(v), 'reserved id (a built-in JavaScript property name)')
const seconds = z.number().finite().min(0)

/** Impairment of a link, as set at the start or changed by a schedule step or event. */
export const linkStateSchema = z.object({
  delay_ms: z.number().finite().min(0).max(10_000).optional(),
  jitter_ms: z.number().finite().min(0).max(1_000).optional(),
  loss: z.number().min(0).max(1).optional(),
  /** Gilbert–Elliott burst loss on top of `loss`; null turns it off. */
  burst: z.object({
    p_good_to_bad: z.number().min(0).max(1),
    p_bad_to_good: z.number().min(0).max(1),
    loss_good: z.number().min(0).max(1).default(0),
    loss_bad: z.number().min(0).max(1).default(1)
  }).nullable().optional(),
  /** Packets per second; 0 for no limit. */
  rate_pps: z.number().finite().min(0).optional(),
  outage: z.boolean().optional()
}).strict()
export type LinkState = z.infer<typeof linkStateSchema>

export const scenarioSchema = z.object({
  name: z.string().min(1).max(128),
  description: z.string().optional(),
  duration_s: z.number().finite().positive().max(86_400),
  seed: z.number().int().default(1),
  relays: z.array(z.object({
    id,
    /** Models RTT to other relays by great-circle distance when a link does not set delay_ms. */
    location: z.object({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180), name: z.string().optional() }).optional()
  }).strict()).min(2).max(10_000),
  /**
   * `full`: every pair of relays can reach each other (the internet), links listed below override a
   * pair's character. `listed`: only the listed links exist.
   */
  topology: z.enum(['full', 'listed']).default('full'),
  /** Character of a pair not listed (full topology) when relays have no locations. */
  default_link: linkStateSchema.default({ delay_ms: 20 }),
  links: z.array(z.object({
    between: z.tuple([id, id]),
    /** Both directions by default; `forward` impairs only between[0] → between[1]. */
    direction: z.enum(['both', 'forward']).default('both'),
    state: linkStateSchema.default({}),
    schedule: z.array(z.object({ at_s: seconds, set: linkStateSchema }).strict()).default([])
  }).strict()).default([]),
  flows: z.array(z.object({
    id,
    from: id,
    to: id,
    pps: z.number().positive().max(100_000).default(50),
    size: z.number().int().min(16).max(1_200).default(200),
    class: z.enum(['audio', 'video', 'signaling', 'data']).default('audio'),
    start_s: seconds.default(0),
    stop_s: seconds.optional()
  }).strict()).default([]),
  events: z.array(z.object({
    at_s: seconds,
    /** link: change a link (like a schedule step); relay_down/relay_up: stop or restart a relay. */
    kind: z.enum(['link', 'relay_down', 'relay_up', 'controller_down', 'controller_up']),
    relay: id.optional(),
    between: z.tuple([id, id]).optional(),
    set: linkStateSchema.optional(),
    label: z.string().max(80).optional()
  }).strict()).default([]),
  /** Probe interval (ms) for every relay; the relay default when absent. */
  probe_interval_ms: z.number().int().min(10).max(10_000).optional(),
  /** Full-mesh probing up to this many relays, k-nearest beyond (topology/neighbours.ts). */
  full_mesh_max: z.number().int().min(2).optional()
}).strict().superRefine((s, ctx) => {
  const ids = new Set<string>()
  s.relays.forEach((r, i) => {
    if (ids.has(r.id)) ctx.addIssue({ code: 'custom', path: ['relays', i, 'id'], message: `relay '${r.id}' is listed twice` })
    ids.add(r.id)
  })
  const known = (v: string, path: Array<string | number>): void => {
    if (!ids.has(v)) ctx.addIssue({ code: 'custom', path, message: `relay '${v}' is not in relays` })
  }
  s.links.forEach((l, i) => { known(l.between[0], ['links', i, 'between', 0]); known(l.between[1], ['links', i, 'between', 1]) })
  const flowIds = new Set<string>()
  s.flows.forEach((f, i) => {
    known(f.from, ['flows', i, 'from']); known(f.to, ['flows', i, 'to'])
    if (f.from === f.to) ctx.addIssue({ code: 'custom', path: ['flows', i], message: 'a flow needs two different relays' })
    if (flowIds.has(f.id)) ctx.addIssue({ code: 'custom', path: ['flows', i, 'id'], message: `flow '${f.id}' is listed twice` })
    flowIds.add(f.id)
    if (f.start_s >= s.duration_s) ctx.addIssue({ code: 'custom', path: ['flows', i, 'start_s'], message: `start_s ${f.start_s} is not before duration_s ${s.duration_s}` })
    if (f.stop_s !== undefined && (f.stop_s <= f.start_s || f.stop_s > s.duration_s)) ctx.addIssue({ code: 'custom', path: ['flows', i, 'stop_s'], message: `stop_s ${f.stop_s} must be after start_s and at most duration_s` })
  })
  const pairs = new Set<string>()
  s.links.forEach((l, i) => {
    const key = [...l.between].sort().join('–')
    if (pairs.has(key)) ctx.addIssue({ code: 'custom', path: ['links', i, 'between'], message: `link ${key} is listed twice` })
    pairs.add(key)
    l.schedule.forEach((st, j) => {
      if (st.at_s > s.duration_s) ctx.addIssue({ code: 'custom', path: ['links', i, 'schedule', j, 'at_s'], message: `at_s ${st.at_s} is after duration_s ${s.duration_s}` })
    })
  })
  s.events.forEach((e, i) => {
    if (e.relay !== undefined) known(e.relay, ['events', i, 'relay'])
    if (e.between !== undefined) { known(e.between[0], ['events', i, 'between', 0]); known(e.between[1], ['events', i, 'between', 1]) }
    if (e.kind === 'link' && (e.between === undefined || e.set === undefined)) ctx.addIssue({ code: 'custom', path: ['events', i], message: 'a link event needs between and set' })
    if ((e.kind === 'relay_down' || e.kind === 'relay_up') && e.relay === undefined) ctx.addIssue({ code: 'custom', path: ['events', i], message: `a ${e.kind} event needs relay` })
    if (e.at_s > s.duration_s) ctx.addIssue({ code: 'custom', path: ['events', i, 'at_s'], message: `at_s ${e.at_s} is after duration_s ${s.duration_s}` })
  })
})
export type Scenario = z.infer<typeof scenarioSchema>

/** Validates a parsed scenario document; errors name the path of the bad entry. */
export function validateScenario (doc: unknown, source = 'scenario'): Scenario {
  const r = scenarioSchema.safeParse(doc)
  if (r.success) return r.data
  const issue = r.error.issues[0]
  const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)'
  throw new ConfigError(`${source}: ${where}: ${issue.message}; see docs/simulation.md for the format`)
}

export async function loadScenario (path: string): Promise<Scenario> {
  let text: string
  try { text = await readFile(path, 'utf8') } catch (err) {
    throw new ConfigError(`cannot read scenario '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; give the path of a .yaml or .json file (examples/scenarios has some)`)
  }
  let doc: unknown
  try { doc = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text) } catch (err) {
    throw new ConfigError(`scenario '${path}' does not parse: ${(err as Error).message.split('\n')[0]}`)
  }
  return validateScenario(doc, `scenario '${path}'`)
}

/** Speed of light in fibre, km per ms, and a fixed allowance for routing detours and equipment. */
const FIBRE_KM_PER_MS = 200
const PATH_STRETCH = 1.5
const BASE_ONE_WAY_MS = 1

/** One-way delay (ms) between two locations: great-circle distance over fibre, stretched. */
export function oneWayDelayMs (a: { lat: number, lon: number }, b: { lat: number, lon: number }): number {
  const rad = Math.PI / 180
  const dLat = (b.lat - a.lat) * rad
  const dLon = (b.lon - a.lon) * rad
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2
  const km = 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)))
  return BASE_ONE_WAY_MS + (km * PATH_STRETCH) / FIBRE_KM_PER_MS
}

/**
 * The state of the directed link from→to at the start: the listed link's state over the default
 * (or the location-derived delay). undefined when the pair is not connected (listed topology).
 */
export function initialLinkState (s: Scenario, from: string, to: string): LinkState | undefined {
  // A listed pair is connected both ways; a `forward` link's state applies only from → to.
  const pair = s.links.find((l) => (l.between[0] === from && l.between[1] === to) || (l.between[0] === to && l.between[1] === from))
  if (pair === undefined && s.topology === 'listed') return undefined
  const listed = pair !== undefined && (pair.direction === 'both' || pair.between[0] === from) ? pair : undefined
  const a = s.relays.find((r) => r.id === from)?.location
  const b = s.relays.find((r) => r.id === to)?.location
  const base: LinkState = a !== undefined && b !== undefined ? { ...s.default_link, delay_ms: oneWayDelayMs(a, b) } : { ...s.default_link }
  return { ...base, ...(listed?.state ?? {}) }
}

/** Every change to directed links over time, from link schedules and link events, sorted by time. */
export function linkTimeline (s: Scenario): Array<{ at_s: number, from: string, to: string, set: LinkState, label?: string }> {
  const out: Array<{ at_s: number, from: string, to: string, set: LinkState, label?: string }> = []
  for (const l of s.links) {
    for (const step of l.schedule) {
      out.push({ at_s: step.at_s, from: l.between[0], to: l.between[1], set: step.set })
      if (l.direction === 'both') out.push({ at_s: step.at_s, from: l.between[1], to: l.between[0], set: step.set })
    }
  }
  for (const e of s.events) {
    if (e.kind !== 'link' || e.between === undefined || e.set === undefined) continue
    out.push({ at_s: e.at_s, from: e.between[0], to: e.between[1], set: e.set, label: e.label })
    out.push({ at_s: e.at_s, from: e.between[1], to: e.between[0], set: e.set, label: e.label })
  }
  return out.sort((x, y) => x.at_s - y.at_s)
}

/** The emulator's parameters (src/transport/impair/model.ts) for a scenario link state. */
export function impairParamsOf (s: LinkState): Partial<ImpairParams> {
  const p: Partial<ImpairParams> = {}
  if (s.delay_ms !== undefined) p.delayMs = s.delay_ms
  if (s.jitter_ms !== undefined) p.jitterMs = s.jitter_ms
  if (s.loss !== undefined) p.loss = s.loss
  if (s.rate_pps !== undefined) p.ratePps = s.rate_pps
  if (s.outage !== undefined) p.outage = s.outage
  if (s.burst !== undefined) {
    p.burst = s.burst === null ? null : { pGoodToBad: s.burst.p_good_to_bad, pBadToGood: s.burst.p_bad_to_good, lossGood: s.burst.loss_good, lossBad: s.burst.loss_bad }
  }
  return p
}
