import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** The controller's Prometheus metrics. */
export interface ControllerMetrics {
  registry: Registry
  reports: Counter
  refused: Counter<'reason'>
  skipped: Counter<'message'>
  expired: Counter
  computations: Counter
  computeSeconds: Histogram
  rollouts: Counter
  /** Background store writes by outcome (StoreWriter): written, coalesced, droppedFull, failed. */
  storeWrites: Counter<'result'>
  /** Values read back from the store that failed validation and were skipped, by key. */
  storeCorrupt: Counter<'key'>
}

export function createControllerMetrics (source: { relays: () => number, live: () => number, version: () => number, leader: () => boolean }): ControllerMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'relaymesh_process_' })
  new Gauge({ // eslint-disable-line no-new
    name: 'relaymesh_controller_relays',
    help: 'Relays known to the controller, by whether their control channel is connected.',
    labelNames: ['connected'],
    registers: [registry],
    collect () {
      const live = source.live()
      this.set({ connected: 'true' }, live)
      this.set({ connected: 'false' }, source.relays() - live)
    }
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'relaymesh_controller_table_version',
    help: 'Version of the most recent table update.',
    registers: [registry],
    collect () { this.set(source.version()) }
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'relaymesh_controller_leader',
    help: '1 while this controller holds the leadership lease, else 0.',
    registers: [registry],
    collect () { this.set(source.leader() ? 1 : 0) }
  })
  return {
    registry,
    reports: new Counter({ name: 'relaymesh_controller_reports_total', help: 'Link reports received.', registers: [registry] }),
    refused: new Counter({ name: 'relaymesh_controller_refused_total', help: 'Control messages or connections refused, by reason.', labelNames: ['reason'] as const, registers: [registry] }),
    skipped: new Counter({
      name: 'relaymesh_controller_entries_skipped_total',
      help: 'Entries taken out of relay messages because a relay id or address in them was invalid, by message type.',
      labelNames: ['message'] as const,
      registers: [registry]
    }),
    expired: new Counter({ name: 'relaymesh_controller_relays_expired_total', help: 'Relays forgotten after staying disconnected past the expiry.', registers: [registry] }),
    computations: new Counter({ name: 'relaymesh_controller_route_computations_total', help: 'Route computations run.', registers: [registry] }),
    computeSeconds: new Histogram({
      name: 'relaymesh_controller_route_compute_seconds',
      help: 'Time to compute routes and plan the table update.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry]
    }),
    rollouts: new Counter({ name: 'relaymesh_controller_table_updates_total', help: 'Table updates (versions) sent to relays.', registers: [registry] }),
    storeWrites: new Counter({
      name: 'relaymesh_controller_store_writes_total',
      help: 'Background store writes by result: written, coalesced (replaced by a newer value before sending), droppedFull (queue full), failed.',
      labelNames: ['result'] as const,
      registers: [registry]
    }),
    storeCorrupt: new Counter({ name: 'relaymesh_controller_store_corrupt_total', help: 'Values read back from the store that failed validation and were skipped, by key.', labelNames: ['key'] as const, registers: [registry] })
  }
}
