import type { ControlLinkReport, ReportLink, WireLinkReport } from './messages.js'

/**
 * The one conversion of link reports between memory (links as objects, as the prober builds them
 * and the controller and the store keep them) and the wire (links as tuples, messages.ts). A link
 * object's keys are four fifths of its bytes: 14 links took 1,460 bytes as objects, two QUIC
 * packets, and take about 500 as tuples.
 */

/** One link on the wire: [peer, up, rtt_ms, jitter_ms, loss, loss_short, samples]. */
export type WireLink = [string, boolean, number | null, number, number, number, number]

export function linkToWire (l: ReportLink): WireLink {
  return [l.peer, l.up, l.rtt_ms, l.jitter_ms, l.loss, l.loss_short, l.samples]
}

export function linkFromWire (w: WireLink): ReportLink {
  return { peer: w[0], up: w[1], rtt_ms: w[2], jitter_ms: w[3], loss: w[4], loss_short: w[5], samples: w[6] }
}

export function reportToWire (r: ControlLinkReport): WireLinkReport {
  return { relay: r.relay, seq: r.seq, trigger: r.trigger, links: r.links.map(linkToWire) }
}
