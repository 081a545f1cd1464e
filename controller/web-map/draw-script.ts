/**
 * Browser code of the web map: the SVG drawing. Runs in the page script's scope (CONFIG, VIEW_W,
 * VIEW_H, layout()); no backticks or template placeholders, as it sits inside one.
 *
 * Elements are kept by key and updated in place rather than redrawn, so a 1,000-relay map costs
 * a few attribute writes a second, and hover tooltips survive updates. Every id from the
 * controller reaches the DOM through setAttribute or textContent only, never as markup.
 */
export const DRAW_SCRIPT = String.raw`
const SVG_NS = 'http://www.w3.org/2000/svg'
const QUALITIES = ['good', 'fair', 'poor', 'bad', 'down', 'unknown']

function svgEl (name, attrs) {
  const el = document.createElementNS(SVG_NS, name)
  for (const k in attrs) el.setAttribute(k, attrs[k])
  return el
}

// Grades by the worst of loss, RTT and jitter: a hop is as good as its weakest figure.
function quality (l) {
  if (!l.up) return 'down'
  if (l.rtt_ms === null || l.loss === null) return 'unknown'
  const jitter = l.jitter_ms === null ? 0 : l.jitter_ms
  for (const g of CONFIG.grades) {
    if (l.loss < g.loss && l.rtt_ms < g.rttMs && jitter < g.jitterMs) return g.quality
  }
  return 'bad'
}

function fmtMs (x) { return x === null ? '-' : x.toFixed(1) + ' ms' }
function fmtLoss (x) { return x === null ? '-' : (x * 100).toFixed(x < 0.001 && x > 0 ? 2 : 1) + '%' }
function fmtCost (x) { return x === null ? '\u221e' : x.toFixed(1) }

function linkText (l) {
  return l.from + ' \u2192 ' + l.to + ' (' + quality(l) + ')\nrtt ' + fmtMs(l.rtt_ms) + ', jitter ' +
    fmtMs(l.jitter_ms) + ', loss ' + fmtLoss(l.loss) + ', cost ' + fmtCost(l.cost)
}

// One arrowhead per quality: a marker taking its colour from its line (context-stroke) is too
// recent in browsers to rely on.
function makeMarkers (defs) {
  for (const q of QUALITIES) {
    const m = svgEl('marker', { id: 'arrow-' + q, viewBox: '0 0 10 10', refX: '10', refY: '5', markerWidth: '4', markerHeight: '4', orient: 'auto' })
    m.appendChild(svgEl('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow ' + q }))
    defs.appendChild(m)
  }
}

function createMap (svg) {
  const defs = svgEl('defs', {})
  const linkLayer = svgEl('g', { class: 'links' })
  const relayLayer = svgEl('g', { class: 'relays' })
  makeMarkers(defs)
  svg.append(defs, linkLayer, relayLayer)
  const relays = new Map() // id -> { g, circle, label, title }
  const links = new Map() // 'from>to' -> { line, title }
  let shape = ''
  let placed = null
  let onRelayClick = function () {}

  function shapeOf (s) {
    return s.relays.map(function (r) { return r.id }).join('\n') + '\n\n' +
      s.links.map(function (l) { return l.from + '>' + l.to }).join('\n')
  }

  function pairsOf (s) {
    const index = new Map(s.relays.map(function (r, i) { return [r.id, i] }))
    const seen = new Set()
    const pairs = []
    for (const l of s.links) {
      const a = index.get(l.from)
      const b = index.get(l.to)
      if (a === undefined || b === undefined || a === b) continue
      const key = Math.min(a, b) + ',' + Math.max(a, b)
      if (seen.has(key)) continue
      seen.add(key)
      pairs.push([a, b])
    }
    return pairs
  }

  function relayEl (id) {
    const g = svgEl('g', { 'data-relay': id, class: 'relay', tabindex: '0' })
    const circle = svgEl('circle', { r: '0' })
    const label = svgEl('text', { 'text-anchor': 'middle' })
    const title = svgEl('title', {})
    label.textContent = id
    g.append(title, circle, label)
    g.addEventListener('click', function () { onRelayClick(id) })
    g.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') onRelayClick(id) })
    relayLayer.appendChild(g)
    return { g: g, circle: circle, label: label, title: title }
  }

  function linkEl (key) {
    const line = svgEl('line', { 'data-link': key, class: 'link' })
    const title = svgEl('title', {})
    line.appendChild(title)
    linkLayer.appendChild(line)
    return { line: line, title: title }
  }

  // Each direction is its own line, set off to the right of its direction of travel, so a>b and
  // b>a sit side by side; both are shortened to end at the circles' rims.
  function placeLink (el, from, to, r) {
    const a = placed.at.get(from)
    const b = placed.at.get(to)
    const len = Math.hypot(b.x - a.x, b.y - a.y) || 1
    const ux = (b.x - a.x) / len
    const uy = (b.y - a.y) / len
    const off = Math.max(0.75, r * 0.25)
    const trim = Math.min(r, len / 3)
    el.line.setAttribute('x1', (a.x + ux * trim - uy * off).toFixed(1))
    el.line.setAttribute('y1', (a.y + uy * trim + ux * off).toFixed(1))
    el.line.setAttribute('x2', (b.x - ux * trim - uy * off).toFixed(1))
    el.line.setAttribute('y2', (b.y - uy * trim + ux * off).toFixed(1))
  }

  // Rebuilds elements and geometry when relays or links came or went; otherwise a no-op.
  function reshape (s) {
    const next = shapeOf(s)
    if (next === shape) return
    shape = next
    const ids = s.relays.map(function (r) { return r.id })
    placed = layout(ids, pairsOf(s))
    const r = placed.r
    const labels = ids.length <= CONFIG.labelsMaxRelays
    svg.classList.toggle('small', r < 6)
    for (const [id, el] of relays) if (!placed.at.has(id)) { el.g.remove(); relays.delete(id) }
    for (const id of ids) {
      const el = relays.get(id) || relayEl(id)
      relays.set(id, el)
      const p = placed.at.get(id)
      el.circle.setAttribute('cx', p.x.toFixed(1))
      el.circle.setAttribute('cy', p.y.toFixed(1))
      el.circle.setAttribute('r', r.toFixed(1))
      el.label.setAttribute('x', p.x.toFixed(1))
      el.label.setAttribute('y', (p.y + r + 15).toFixed(1))
      el.label.style.display = labels ? '' : 'none'
    }
    const keys = new Set(s.links.map(function (l) { return l.from + '>' + l.to }))
    for (const [key, el] of links) if (!keys.has(key)) { el.line.remove(); links.delete(key) }
    for (const l of s.links) {
      const key = l.from + '>' + l.to
      const el = links.get(key) || linkEl(key)
      links.set(key, el)
      if (placed.at.has(l.from) && placed.at.has(l.to)) placeLink(el, l.from, l.to, r)
    }
  }

  // pathLinks: Set of 'from>to' keys; pathRelays: Set of ids. Both empty when no route is shown.
  function update (s, pathLinks, pathRelays) {
    reshape(s)
    svg.classList.toggle('has-path', pathLinks.size > 0)
    for (const rv of s.relays) {
      const el = relays.get(rv.id)
      el.g.classList.toggle('down', !rv.up)
      el.g.setAttribute('data-up', String(rv.up))
      toggleAttr(el.g, 'data-path', pathRelays.has(rv.id))
      setText(el.title, rv.id + ' ' + rv.address + (rv.up ? '' : ' (control channel down)'))
    }
    for (const l of s.links) {
      const el = links.get(l.from + '>' + l.to)
      const q = quality(l)
      if (el.line.getAttribute('data-quality') !== q) {
        el.line.setAttribute('data-quality', q)
        el.line.setAttribute('class', 'link ' + q)
        el.line.setAttribute('marker-end', 'url(#arrow-' + q + ')')
      }
      toggleAttr(el.line, 'data-path', pathLinks.has(l.from + '>' + l.to))
      setText(el.title, linkText(l))
    }
  }

  // Writes only what changed: at a thousand relays most figures hold still from one poll to the
  // next, and an untouched node also keeps an open tooltip steady.
  function setText (el, text) {
    if (el.textContent !== text) el.textContent = text
  }

  function toggleAttr (el, name, on) {
    if (on) el.setAttribute(name, 'true')
    else el.removeAttribute(name)
  }

  return {
    update: update,
    onRelayClick: function (fn) { onRelayClick = fn }
  }
}
`
