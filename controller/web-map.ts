import { createHash } from 'node:crypto'
import { MAX_USABLE_LOSS } from '../topology/cost.js'
import { CLIENT_SCRIPT } from './web-map/client-script.js'
import { GRADES, pageConfig, type Grade } from './web-map/constants.js'
import { DRAW_SCRIPT } from './web-map/draw-script.js'
import { LAYOUT_SCRIPT } from './web-map/layout-script.js'
import { STYLE } from './web-map/style.js'

let page: string | undefined

/**
 * The live topology map the controller serves at GET / (docs/http-api.md). One self-contained
 * page: inline CSS and script, no build step and no request anywhere but this controller's own
 * /api/topology and /healthz, which it polls. It holds no data of its own, so it is built once.
 */
export function webMapPage (): string {
  page ??= buildPage()
  return page
}

/** Coordinates the scripts lay relays out in; the SVG scales them to the window. */
const VIEW_W = 1000
const VIEW_H = 700

function buildPage (): string {
  const script = [
    '(function () {',
    "'use strict'",
    `const CONFIG = ${JSON.stringify(pageConfig())}`,
    `const VIEW_W = ${VIEW_W}`,
    `const VIEW_H = ${VIEW_H}`,
    LAYOUT_SCRIPT,
    DRAW_SCRIPT,
    CLIENT_SCRIPT,
    '})()'
  ].join('\n')
  // The page only ever talks to where it came from, and runs only the script and style it was
  // served with: an id or address crafted to smuggle markup in would have nothing to load.
  const csp = [
    "default-src 'none'",
    "connect-src 'self'",
    "img-src 'self' data:",
    `script-src '${sha256(script)}'`,
    `style-src '${sha256(STYLE)}'`
  ].join('; ')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<link rel="icon" href="data:,">
<title>relaymesh map</title>
<style>${STYLE}</style>
</head>
<body data-state="loading">
<header>
  <h1>relaymesh</h1>
  <span>controller <b id="role">…</b></span>
  <span>table version <b id="version">…</b></span>
  <span id="counts" class="muted"></span>
  <span id="updated" class="muted">connecting…</span>
</header>
<div id="status" role="alert" hidden></div>
<main>
  <svg id="map" viewBox="0 0 ${VIEW_W} ${VIEW_H}" role="img" aria-label="relays and links of the mesh"></svg>
  <aside>
    <h2>Route</h2>
    <label>from <select id="src"><option value="">—</option></select></label>
    <label>to <select id="dst"><option value="">—</option></select></label>
    <button id="swap" type="button" title="swap source and destination">⇄</button>
    <button id="clear" type="button">clear</button>
    <p id="route-summary">Pick a source and a destination, or click two relays.</p>
    <table id="hops" hidden>
      <thead><tr><th>hop</th><th>rtt</th><th>loss</th><th>cost</th></tr></thead>
      <tbody></tbody>
    </table>
    <h2>Links</h2>
    <table id="legend">
${legendRows()}
    </table>
    <p>Each direction of a link is its own line, on the right-hand side of its direction of travel,
    with the arrow at the receiving relay, graded by the figures its sender measured. A link is
    graded by its worst figure. Hover over a line or a relay for its figures.</p>
    <p>Grey relays: control channel to the controller down (they still forward on the tables they hold).</p>
  </aside>
</main>
<script>${script}</script>
</body>
</html>
`
}

function legendRows (): string {
  const pct = (x: number): string => `${+(x * 100).toFixed(2)}%`
  const limits = (g: Grade): string => `loss &lt; ${pct(g.loss)}, RTT &lt; ${g.rttMs} ms, jitter &lt; ${g.jitterMs} ms`
  const rows: Array<[string, string]> = [
    ...GRADES.map((g): [string, string] => [g.quality, limits(g)]),
    ['bad', `worse than ${GRADES[GRADES.length - 1].quality}; from ${pct(MAX_USABLE_LOSS)} loss, routing does not use it (cost ∞)`],
    ['down', 'dashed: its sender\'s prober declared it down'],
    ['unknown', 'dotted: up, but not measured yet']
  ]
  return rows.map(([q, text]) => `      <tr><td class="q ${q}">${q}</td><td>${text}</td></tr>`).join('\n')
}

function sha256 (text: string): string {
  return `sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}`
}
