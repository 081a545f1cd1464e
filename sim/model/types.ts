/** Options of a model-mode run; every field has a default that mirrors the real components. */
export interface ModelOptions {
  /** Called after every simulated second of the scenario (warm-up excluded). */
  onProgress?: (simSeconds: number) => void
  /** One-way control-channel delay for every relay (ms), instead of the location-derived one. */
  controlDelayMs?: number
  /**
   * No two route computations start closer than this (ms): the controller core's
   * computeSpacingMs. Default computeSpacingFor(relays) (controller/core/route-scheduling.ts):
   * 0 up to LARGE_MESH_RELAYS relays, beyond it LARGE_MESH_COMPUTE_SPACING_MS, decided once from
   * the scenario's size (controller/constants.ts says why).
   */
  computeSpacingMs?: number
  /** Which pairs final_routes lists; default 'all' up to FINAL_ROUTES_ALL_MAX relays, else 'flows'. */
  finalRoutes?: 'all' | 'flows'
}

/** Counters of a run, for benchmarks and progress lines. */
export interface ModelStats {
  /** Events the virtual clock ran. */
  events: number
  /** Probes sent by all relays. */
  probes: number
  /** Link monitors created (neighbour changes and restarts make new ones). */
  monitors: number
  /** Of those, monitors built rather than taken from the pool of dropped links' monitors. */
  monitorsBuilt: number
  /** Route computations run, over every controller run. */
  computations: number
  /** Wall time spent in route computation and table diffing (ms). */
  computeWallMs: number
  /** Wall time the controller spent taking in reports (ms): incremental route updates happen there. */
  reportWallMs: number
  /** Reported link figures that changed a link's cost in force. */
  costChanges: number
  /** Directed links probed at the end of the run. */
  probedLinks: number
  /** Virtual time the warm-up took (ms). */
  warmupMs: number
  /**
   * Link state changes found while bringing a batched (quiet) link up to date, so seen late: 0
   * unless the probe engine's quiet rule is wrong (probe-engine.ts).
   */
  lateChanges: number
}
