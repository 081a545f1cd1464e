#!/usr/bin/env node
// Generates scale-1000.yaml: 1,000 relays in 20 metro areas, five long-haul flows and ten events
// over 600 s. The scenario schema has no generator of its own (every relay is listed), so this
// script writes the list; its output is committed so that runs do not depend on it.
//
// Regenerate (deterministic: the same file every time):
//   node examples/scenarios/gen-scale.mjs                 # rewrites examples/scenarios/scale-1000.yaml
//   node examples/scenarios/gen-scale.mjs OUT.yaml        # writes elsewhere
//
// Plain Node, no dependencies. Relay ids are r0000…r0999, grouped by metro in the order below, so
// an id says roughly where a relay is (r0000–r0089 London, r0090–r0179 Frankfurt, …).
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** Metro areas, weighted roughly by how much hosting capacity real networks put there. */
const METROS = [
  ['London', 51.507, -0.128, 90],
  ['Frankfurt', 50.110, 8.682, 90],
  ['Amsterdam', 52.370, 4.895, 60],
  ['Paris', 48.857, 2.352, 50],
  ['Madrid', 40.417, -3.704, 30],
  ['Stockholm', 59.329, 18.069, 25],
  ['New York', 40.713, -74.006, 80],
  ['Ashburn', 39.044, -77.487, 70],
  ['Chicago', 41.878, -87.630, 45],
  ['Dallas', 32.777, -96.797, 40],
  ['Los Angeles', 34.052, -118.244, 50],
  ['San Francisco', 37.775, -122.419, 45],
  ['Toronto', 43.653, -79.383, 25],
  ['São Paulo', -23.551, -46.633, 40],
  ['Tokyo', 35.676, 139.650, 60],
  ['Seoul', 37.567, 126.978, 30],
  ['Hong Kong', 22.320, 114.169, 40],
  ['Singapore', 1.352, 103.820, 55],
  ['Mumbai', 19.076, 72.878, 45],
  ['Sydney', -33.869, 151.209, 30]
]

/**
 * A 32-bit linear congruential generator (Numerical Recipes constants), high bits out. Plenty for
 * scattering points on a map, and it keeps the output byte-identical across Node versions, which
 * Math.random would not.
 */
function lcg (seed) {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

const rand = lcg(20240601)

/** A normal deviate (Box–Muller): data centres cluster around a metro's centre and thin out. */
function gauss () {
  const u = Math.max(rand(), 1e-12)
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand())
}

const total = METROS.reduce((a, m) => a + m[3], 0)
if (total !== 1000) throw new Error(`metro weights sum to ${total}, not 1000`)

const relays = []
const firstOf = new Map()
for (const [name, lat, lon, count] of METROS) {
  firstOf.set(name, relays.length)
  for (let i = 0; i < count; i++) {
    // σ ≈ 17 km north–south; east–west scaled by latitude so the cloud stays round on the ground.
    const dLat = gauss() * 0.15
    const dLon = (gauss() * 0.15) / Math.cos((lat * Math.PI) / 180)
    relays.push({ id: `r${String(relays.length).padStart(4, '0')}`, name, lat: lat + dLat, lon: lon + dLon })
  }
}

/** The k-th relay of a metro (k counts from 0): stable picks that do not depend on the scatter. */
const pick = (metro, k = 0) => {
  const first = firstOf.get(metro)
  if (first === undefined) throw new Error(`no metro ${metro}`)
  return relays[first + k].id
}

const flows = [
  { id: 'f1', from: pick('London', 3), to: pick('New York', 5), pps: 50, size: 200, class: 'audio' },
  { id: 'f2', from: pick('Frankfurt', 7), to: pick('Singapore', 2), pps: 200, size: 1000, class: 'video' },
  { id: 'f3', from: pick('San Francisco', 1), to: pick('Tokyo', 4), pps: 50, size: 200, class: 'audio' },
  { id: 'f4', from: pick('São Paulo', 0), to: pick('Madrid', 6), pps: 50, size: 200, class: 'audio' },
  { id: 'f5', from: pick('Sydney', 2), to: pick('Mumbai', 9), pps: 10, size: 400, class: 'signaling' }
]
const byId = new Map(flows.map((f) => [f.id, f]))
const direct = (id) => [byId.get(id).from, byId.get(id).to]

/** The relay nearest to `id` on the map: first among the neighbours it probes (nearest by RTT). */
function nearestTo (id) {
  const a = relays.find((r) => r.id === id)
  const d2 = (r) => (r.lat - a.lat) ** 2 + ((r.lon - a.lon) * Math.cos((a.lat * Math.PI) / 180)) ** 2
  return relays.filter((r) => r.id !== id).reduce((best, r) => (d2(r) < d2(best) ? r : best)).id
}
const transit = nearestTo(byId.get('f1').from)

// Which relays carry a flow is the controller's choice, so events aimed at "the path" cannot be
// written down in advance. Instead the link events hit each flow's direct internet path (what the
// "direct" baseline in the report measures), and the relay event takes out the relay nearest to
// f1's source: almost surely one of the 8 nearest it probes, and a likely first hop.
const events = [
  { at_s: 60, kind: 'link', between: direct('f1'), set: { loss: 0.2 }, label: 'f1 direct path 20% loss' },
  { at_s: 90, kind: 'link', between: direct('f2'), set: { outage: true }, label: 'f2 direct path down' },
  { at_s: 150, kind: 'link', between: direct('f1'), set: { loss: 0 }, label: 'f1 direct path clean' },
  { at_s: 200, kind: 'relay_down', relay: transit, label: `relay ${transit} next to f1's source down` },
  { at_s: 240, kind: 'link', between: direct('f2'), set: { outage: false }, label: 'f2 direct path back' },
  { at_s: 280, kind: 'relay_up', relay: transit, label: `relay ${transit} back` },
  { at_s: 330, kind: 'controller_down', label: 'controller down (relays fail static)' },
  { at_s: 360, kind: 'controller_up', label: 'controller back' },
  { at_s: 420, kind: 'link', between: direct('f3'), set: { loss: 0.05, jitter_ms: 15 }, label: 'f3 direct path congested' },
  { at_s: 540, kind: 'link', between: direct('f3'), set: { loss: 0, jitter_ms: 1 }, label: 'f3 direct path clear' }
]

/** YAML flow mappings, one entry per line: compact, and still diffable line by line. */
function flowMap (o) {
  return `{ ${Object.entries(o).map(([k, v]) => `${k}: ${scalar(v)}`).join(', ')} }`
}
function scalar (v) {
  if (Array.isArray(v)) return `[${v.map(scalar).join(', ')}]`
  if (typeof v === 'object' && v !== null) return flowMap(v)
  if (typeof v === 'number') return String(v)
  // Quoted only when YAML would misread the bare text (a colon, a bracket, a leading digit …).
  return /^[A-Za-z][\w .–()-]*$/.test(v) && !/: /.test(v) ? v : JSON.stringify(v)
}

const round3 = (x) => Math.round(x * 1000) / 1000
const lines = [
  '# GENERATED by examples/scenarios/gen-scale.mjs; edit that script, not this file, and run',
  '#   node examples/scenarios/gen-scale.mjs',
  '# 1,000 relays in 20 metro areas (ids grouped by metro), topology full with delays from the',
  '# locations. Above full_mesh_max (default 32) each relay probes its 8 nearest relays plus 4',
  '# random others (topology/neighbours.ts), so long-haul traffic crosses a sparse probed graph.',
  '# Meant for --mode model: a thousand daemons do not fit one machine.',
  'name: scale-1000',
  'description: 1,000 relays in 20 metros for 600 s; five long-haul flows, link faults, a relay and the controller going down.',
  'duration_s: 600',
  'seed: 1',
  'topology: full',
  'default_link: { delay_ms: 20, jitter_ms: 1 }',
  'relays:',
  ...relays.map((r) => `  - ${flowMap({ id: r.id, location: { name: r.name, lat: round3(r.lat), lon: round3(r.lon) } })}`),
  'flows:',
  ...flows.map((f) => `  - ${flowMap({ ...f, start_s: 10 })}`),
  'events:',
  ...events.map((e) => `  - ${flowMap(e)}`)
]

const out = process.argv[2] ?? fileURLToPath(new URL('./scale-1000.yaml', import.meta.url))
writeFileSync(out, lines.join('\n') + '\n')
process.stderr.write(`wrote ${out}: ${relays.length} relays, ${flows.length} flows, ${events.length} events\n`)
