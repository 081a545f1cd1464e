/**
 * What a simulation run produces, in either mode. The report writer (sim/report.ts) turns it into
 * JSON and a Markdown report with SVG charts; `relaymesh sim --json` prints it as is.
 */
export interface SimResult {
  scenario: string
  mode: 'process' | 'model'
  seed: number
  duration_s: number
  relays: number
  /** Real time the run took (ms). */
  wall_ms: number
  flows: FlowResult[]
  events: EventResult[]
  /** Routes at the end: src → dst → next hop and path. */
  final_routes: Record<string, Record<string, { next_hop: string, path: string[] }>>
  /** Route table versions pushed over the run. */
  table_versions: number
}

export interface FlowResult {
  id: string
  from: string
  to: string
  sent: number
  delivered: number
  /** Delivered loss through the mesh, 0–1. */
  loss: number
  /** The same flow on the direct path (from→to link alone) under the same impairments, no mesh. */
  direct_loss: number
  /** One-way latency of delivered packets (ms); null when none arrived. */
  p50_ms: number | null
  p99_ms: number | null
  direct_p50_ms: number | null
  direct_p99_ms: number | null
  /**
   * The flow's path over time: the first entry is the path it started on, each later one a change
   * (the new path, [] while unreachable). t_s is when the change was seen.
   */
  path_changes: Array<{ t_s: number, path: string[] }>
  /** One entry per second of the run; bucket t_s holds the packets sent in [t_s, t_s + 1). */
  series: Array<{ t_s: number, sent: number, loss: number, p50_ms: number | null, direct_loss: number, direct_p50_ms: number | null }>
}

/** One per event and per link-schedule step (a step is an event on that link), in time order. */
export interface EventResult {
  t_s: number
  kind: string
  /** Relay id or "a–b" link. */
  target: string
  label?: string
  /**
   * From the event to the last route change it caused: the last table version change before
   * CONVERGENCE_QUIET_S of quiet (or before the next event). null when routes did not change.
   */
  convergence_ms: number | null
}

/** Routes are converged once no table changed for this long. */
export const CONVERGENCE_QUIET_S = 3
