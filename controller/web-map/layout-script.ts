/**
 * Browser code of the web map: where each relay goes. Plain ES2020 in a string, because the page
 * has no build step; it runs inside the page script's scope, where CONFIG, VIEW_W and VIEW_H are
 * defined. It must not use backticks or template placeholders (it sits inside one).
 *
 * The layout is deterministic: the same relays and links always land in the same places, so a
 * reload, or a second operator's screen, shows the same picture. It is recomputed only when the
 * set of relays or of linked pairs changes, never because a figure moved, so nothing jumps about
 * while an operator is looking at it.
 */
export const LAYOUT_SCRIPT = String.raw`
// xorshift32: a fixed seed instead of Math.random keeps the layout reproducible.
function seededRandom (seed) {
  let s = seed >>> 0
  return function () {
    s ^= s << 13; s >>>= 0
    s ^= s >>> 17
    s ^= s << 5; s >>>= 0
    return s / 4294967296
  }
}

// Relays start on a circle in id order, so a mesh too big for the force layout is still
// readable (and findable: ids run clockwise from the top).
function circle (n) {
  const pts = []
  for (let i = 0; i < n; i++) {
    const a = 2 * Math.PI * i / n - Math.PI / 2
    pts.push({ x: Math.cos(a), y: Math.sin(a) })
  }
  return pts
}

// Fruchterman-Reingold with a little gravity. Gravity keeps a relay with no links (just
// registered, or cut off) near the rest instead of drifting to the edge and squeezing the map.
function relax (pts, pairs) {
  const n = pts.length
  const k = Math.sqrt(4 / n) // ideal edge length for a 2 x 2 area
  const rand = seededRandom(0x9e3779b9)
  // A perfect circle is a balanced state the forces cannot leave; a small nudge breaks the tie.
  for (const p of pts) { p.x += (rand() - 0.5) * k * 0.1; p.y += (rand() - 0.5) * k * 0.1 }
  const dx = new Float64Array(n)
  const dy = new Float64Array(n)
  const steps = 300
  for (let step = 0; step < steps; step++) {
    dx.fill(0); dy.fill(0)
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const ex = pts[i].x - pts[j].x
        const ey = pts[i].y - pts[j].y
        const d2 = Math.max(ex * ex + ey * ey, 1e-6)
        const f = k * k / d2
        dx[i] += ex * f; dy[i] += ey * f
        dx[j] -= ex * f; dy[j] -= ey * f
      }
    }
    for (const [i, j] of pairs) {
      const ex = pts[i].x - pts[j].x
      const ey = pts[i].y - pts[j].y
      const d = Math.sqrt(ex * ex + ey * ey)
      const f = d / k
      dx[i] -= ex * f; dy[i] -= ey * f
      dx[j] += ex * f; dy[j] += ey * f
    }
    // Linear cooling: big moves first to untangle, small ones last to settle.
    const t = 0.15 * (1 - step / steps) + 0.002
    for (let i = 0; i < n; i++) {
      const gx = dx[i] - pts[i].x * k
      const gy = dy[i] - pts[i].y * k
      const len = Math.sqrt(gx * gx + gy * gy)
      if (len > 0) {
        const m = Math.min(len, t) / len
        pts[i].x += gx * m; pts[i].y += gy * m
      }
    }
  }
}

// Scales the points into the view box, keeping the aspect ratio and a margin for labels.
function fit (pts) {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity
  for (const p of pts) {
    x0 = Math.min(x0, p.x); x1 = Math.max(x1, p.x)
    y0 = Math.min(y0, p.y); y1 = Math.max(y1, p.y)
  }
  const margin = 40
  const s = Math.min((VIEW_W - 2 * margin) / Math.max(x1 - x0, 1e-9), (VIEW_H - 2 * margin) / Math.max(y1 - y0, 1e-9))
  const ox = (VIEW_W - s * (x1 - x0)) / 2
  const oy = (VIEW_H - s * (y1 - y0)) / 2
  return pts.map(function (p) { return { x: ox + (p.x - x0) * s, y: oy + (p.y - y0) * s } })
}

// A circle radius that keeps the two closest relays apart, between 1.5 and 14 view units.
function nodeRadius (pts) {
  let min = Infinity
  for (let i = 0; i < pts.length; i++) {
    for (let j = i + 1; j < pts.length; j++) {
      min = Math.min(min, Math.hypot(pts[i].x - pts[j].x, pts[i].y - pts[j].y))
    }
  }
  return Math.max(1.5, Math.min(14, min * 0.35))
}

// ids sorted; pairs are index pairs, one per linked pair whichever way the links run.
function layout (ids, pairs) {
  const pts = circle(ids.length)
  if (ids.length > 2 && ids.length <= CONFIG.forceLayoutMaxRelays) relax(pts, pairs)
  const placed = ids.length === 1 ? [{ x: VIEW_W / 2, y: VIEW_H / 2 }] : fit(pts)
  const at = new Map()
  ids.forEach(function (id, i) { at.set(id, placed[i]) })
  return { at: at, r: ids.length === 1 ? 14 : nodeRadius(placed) }
}
`
