import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { REASON_NAMES } from './wire/reasons.js'

/** Plain counters a data plane keeps; read only when /metrics is scraped. */
export interface PacketCounterSource {
  forwarded: number
  dropped: ArrayLike<number>
  delivered: Map<number, number>
}

/** Names of well-known services, for the `service` label. */
const SERVICE_NAMES: Record<number, string> = { 1: 'tunnel', 2: 'signaling', 3: 'sfu' }

export function serviceLabel (service: number): string {
  return SERVICE_NAMES[service] ?? String(service)
}

/**
 * The relay's Prometheus registry. Packet counters are copied from the data plane at scrape time,
 * so the per-packet path pays for a number increment and nothing more.
 */
export function createRelayRegistry (source: () => PacketCounterSource, defaultMetrics = true): Registry {
  const registry = new Registry()
  if (defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'relaymesh_process_' })
  new Counter({ // eslint-disable-line no-new
    name: 'relaymesh_packets_forwarded_total',
    help: 'Packets this relay forwarded toward another relay.',
    registers: [registry],
    collect () { this.reset(); this.inc(source().forwarded) }
  })
  new Counter({ // eslint-disable-line no-new
    name: 'relaymesh_packets_delivered_total',
    help: 'Packets delivered to a local service.',
    labelNames: ['service'],
    registers: [registry],
    collect () {
      this.reset()
      for (const [svc, n] of source().delivered) this.inc({ service: serviceLabel(svc) }, n)
    }
  })
  new Counter({ // eslint-disable-line no-new
    name: 'relaymesh_packets_dropped_total',
    help: 'Packets dropped, by reason.',
    labelNames: ['reason'],
    registers: [registry],
    collect () {
      this.reset()
      const d = source().dropped
      // Every reason is exported, zeros included, so dashboards see the full set from the start.
      for (let i = 1; i < REASON_NAMES.length; i++) this.inc({ reason: REASON_NAMES[i] }, d[i])
    }
  })
  return registry
}

/** Per-link figures, labelled {peer}; the names are part of the metrics contract. */
export interface LinkGaugeSource {
  peer: string
  state: 'up' | 'down'
  rttMs: number
  jitterMs: number
  loss: number
}

export function registerLinkMetrics (registry: Registry, source: () => LinkGaugeSource[]): void {
  const gauge = (name: string, help: string, value: (l: LinkGaugeSource) => number): void => {
    new Gauge({ // eslint-disable-line no-new
      name,
      help,
      labelNames: ['peer'],
      registers: [registry],
      collect () {
        this.reset()
        for (const l of source()) {
          const v = value(l)
          if (Number.isFinite(v)) this.set({ peer: l.peer }, v)
        }
      }
    })
  }
  gauge('relaymesh_link_up', 'Whether the link to a neighbour is up (1) or down (0).', (l) => (l.state === 'up' ? 1 : 0))
  gauge('relaymesh_link_rtt_seconds', 'Smoothed round-trip time to a neighbour.', (l) => l.rttMs / 1000)
  gauge('relaymesh_link_jitter_seconds', 'RTT jitter to a neighbour (RFC 3550 style).', (l) => l.jitterMs / 1000)
  gauge('relaymesh_link_loss_ratio', 'Packet loss toward a neighbour over the long window, 0 to 1.', (l) => l.loss)
}

/** What a relay's control client counts of the controller messages it took in. */
export interface ControlCounters {
  /** Entries taken out of messages because a relay id or address in them was invalid. */
  skippedEntries: number
  /** Leader messages ignored for a fencing number below one seen before (a deposed leader's). */
  staleFence: number
}

/** Control-channel counters of a relay that follows a controller (docs/routing.md). */
export function registerControlMetrics (registry: Registry, source: () => ControlCounters): void {
  new Counter({ // eslint-disable-line no-new
    name: 'relaymesh_control_entries_skipped_total',
    help: 'Entries taken out of controller messages because a relay id or address in them was invalid.',
    registers: [registry],
    collect () { this.reset(); this.inc(source().skippedEntries) }
  })
  new Counter({ // eslint-disable-line no-new
    name: 'relaymesh_control_messages_ignored_total',
    help: 'Controller messages ignored, by reason (stale_fence: from a deposed leader).',
    labelNames: ['reason'],
    registers: [registry],
    collect () { this.reset(); this.inc({ reason: 'stale_fence' }, source().staleFence) }
  })
}

/** What a relay's per-hop recovery counts, over all its links (docs/recovery.md). */
export interface RecoveryCounterSource {
  feedbackSent: number
  feedbackReceived: number
  nacksSent: number
  nacksReceived: number
  retransmissions: number
  retransmittedBytes: number
  unrecoverable: number
  capped: number
  failed: number
}

/** Per-hop recovery counters of a relay (docs/recovery.md, "Metrics"). */
export function registerRecoveryMetrics (registry: Registry, source: () => RecoveryCounterSource): void {
  const counter = (name: string, help: string, value: (c: RecoveryCounterSource) => number): void => {
    new Counter({ // eslint-disable-line no-new
      name, help, registers: [registry], collect () { this.reset(); this.inc(value(source())) }
    })
  }
  const byDirection = (name: string, help: string, sent: (c: RecoveryCounterSource) => number, received: (c: RecoveryCounterSource) => number): void => {
    new Counter({ // eslint-disable-line no-new
      name,
      help,
      labelNames: ['direction'],
      registers: [registry],
      collect () {
        this.reset()
        const c = source()
        this.inc({ direction: 'sent' }, sent(c))
        this.inc({ direction: 'received' }, received(c))
      }
    })
  }
  byDirection('relaymesh_recovery_feedback_total', 'FEEDBACK packets sent to and received from neighbours.', (c) => c.feedbackSent, (c) => c.feedbackReceived)
  byDirection('relaymesh_recovery_nacks_total', 'Link sequences asked for (sent) and asked of this relay (received), repeats counted.', (c) => c.nacksSent, (c) => c.nacksReceived)
  counter('relaymesh_recovery_retransmissions_total', 'Copies of lost packets sent on links.', (c) => c.retransmissions)
  counter('relaymesh_recovery_retransmitted_bytes_total', 'Bytes of the copies sent on links: the recovery bandwidth.', (c) => c.retransmittedBytes)
  counter('relaymesh_recovery_unrecoverable_total', 'Packets asked for that could no longer arrive within their class budget.', (c) => c.unrecoverable)
  counter('relaymesh_recovery_capped_total', 'Copies held back by the cap of 30% of a link\'s packets.', (c) => c.capped)
  counter('relaymesh_recovery_failed_total', 'Reliable (signaling) packets given up unacknowledged after the bound.', (c) => c.failed)
}
