import type { EventResult, FlowResult, SimResult } from '../types.js'

/**
 * How figures read in the report and the terminal summary. A missing figure (no packet delivered,
 * no route change) shows as an em dash rather than 0, which would claim a measurement.
 */
export const NONE = '—'

/**
 * A loss fraction as a percentage. Small losses keep two decimals, since 0.04% and 0.4% are
 * different verdicts for a voice stream; a loss that rounds to zero never prints as "0%".
 */
export function pct (x: number | null): string {
  if (x === null || !Number.isFinite(x)) return NONE
  if (x <= 0) return '0%'
  const v = x * 100
  if (v < 0.01) return '<0.01%'
  if (v < 1) return `${Number(v.toFixed(2))}%`
  return `${v.toFixed(1)}%`
}

/** Milliseconds: one decimal below 100 ms (a jitter buffer cares), whole ms above. */
export function ms (x: number | null): string {
  if (x === null || !Number.isFinite(x)) return NONE
  return x < 100 ? `${x.toFixed(1)} ms` : `${Math.round(x)} ms`
}

/** A duration in ms, switching to seconds where ms stop being readable. */
export function duration (x: number | null): string {
  if (x === null || !Number.isFinite(x)) return NONE
  return x < 10_000 ? `${Math.round(x)} ms` : `${(x / 1000).toFixed(1)} s`
}

export function seconds (x: number): string {
  return Number.isInteger(x) ? `${x} s` : `${Number(x.toFixed(1))} s`
}

export function pathText (path: string[]): string {
  return path.length === 0 ? 'unreachable' : path.join(' → ')
}

/**
 * Events in time order (ties keep the mode's order). Their 1-based positions here are the numbers
 * that the events table shows and that crowded charts use as marker labels.
 */
export function orderedEvents (r: SimResult): EventResult[] {
  return [...r.events].sort((a, b) => a.t_s - b.t_s)
}

/** The event's caption: its label when the scenario gave one, else what happened to what. */
export function eventCaption (e: EventResult): string {
  return e.label !== undefined && e.label !== '' ? e.label : `${e.kind} ${e.target}`
}

/**
 * One plain sentence on what the mesh did for a flow, loss first (what a listener hears), then
 * median latency (what it costs).
 */
export function headline (f: FlowResult): string {
  const name = `Flow ${f.id} (${f.from} → ${f.to})`
  if (f.delivered === 0) {
    return f.sent === 0
      ? `${name} sent no packets.`
      : `${name} delivered nothing through the mesh; the direct path lost ${pct(f.direct_loss)}.`
  }
  let loss: string
  if (f.loss < f.direct_loss) loss = `lost ${pct(f.loss)} through the mesh where the direct path lost ${pct(f.direct_loss)}`
  else if (f.loss > f.direct_loss) loss = `lost ${pct(f.loss)} through the mesh, more than the ${pct(f.direct_loss)} the direct path lost`
  else loss = `lost ${pct(f.loss)} through the mesh, the same as the direct path`
  const latency = f.p50_ms === null
    ? ''
    : f.direct_p50_ms === null
      ? `, at a median one-way latency of ${ms(f.p50_ms)} (nothing arrived on the direct path)`
      : `, at a median one-way latency of ${ms(f.p50_ms)} against ${ms(f.direct_p50_ms)} direct`
  return `${name} ${loss}${latency}.`
}

/** Packet-weighted loss over several flows, so a 5 pps signaling flow does not count like video. */
export function pooledLoss (flows: FlowResult[], pick: (f: FlowResult) => number): number | null {
  const sent = flows.reduce((a, f) => a + f.sent, 0)
  if (sent === 0) return null
  return flows.reduce((a, f) => a + f.sent * pick(f), 0) / sent
}

/** How many times the flow moved to another path: the first entry of path_changes is its first path. */
export function pathChangeCount (f: FlowResult): number {
  return Math.max(0, f.path_changes.length - 1)
}
