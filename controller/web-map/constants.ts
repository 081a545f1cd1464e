/**
 * What the web map (GET /) draws and how often it asks. The page gets these as JSON, and the
 * legend is printed from them, so the colours on screen and the numbers beside them cannot drift.
 */

export type LinkQuality = 'good' | 'fair' | 'poor' | 'bad' | 'down' | 'unknown'

/** A link is of the first grade whose every limit it is under; a link under none is 'bad'. */
export interface Grade {
  quality: 'good' | 'fair' | 'poor'
  /** Loss fraction, exclusive. */
  loss: number
  /** Smoothed RTT in ms, exclusive. */
  rttMs: number
  /** RTT jitter in ms, exclusive. */
  jitterMs: number
}

/**
 * One hop of a real-time path. 'good' leaves a two- or three-hop route inside the 150 ms one-way
 * budget of ITU-T G.114 with loss that Opus in-band FEC and a NACK or two hide; 'fair' is still
 * usable for voice; 'poor' hurts video first (keyframe requests, layer drops); past it users hear it.
 */
export const GRADES: readonly Grade[] = [
  { quality: 'good', loss: 0.01, rttMs: 100, jitterMs: 10 },
  { quality: 'fair', loss: 0.03, rttMs: 200, jitterMs: 20 },
  { quality: 'poor', loss: 0.10, rttMs: 300, jitterMs: 40 }
]

/** How often the page polls /api/topology and /healthz, in ms. */
export const POLL_MS = 1000

/** A poll that has not answered in this long counts as a failure, so a hung controller shows. */
export const POLL_TIMEOUT_MS = 3000

/**
 * Above this many relays the page stops asking for routes. They are n² entries that the
 * controller builds on its event loop per request: at 1,000 relays a million, every second, would
 * stall the control channel the map is meant to watch.
 */
export const ROUTES_MAX_RELAYS = 200

/** Above this many relays the force layout (O(n²) per step) gives way to a circle by id. */
export const FORCE_LAYOUT_MAX_RELAYS = 150

/** Above this many relays names are only in tooltips: they would overlap. */
export const LABELS_MAX_RELAYS = 60

/** Everything the page script needs from here, as one JSON-able object. */
export function pageConfig (): Record<string, unknown> {
  return {
    grades: GRADES,
    pollMs: POLL_MS,
    pollTimeoutMs: POLL_TIMEOUT_MS,
    routesMaxRelays: ROUTES_MAX_RELAYS,
    forceLayoutMaxRelays: FORCE_LAYOUT_MAX_RELAYS,
    labelsMaxRelays: LABELS_MAX_RELAYS
  }
}
