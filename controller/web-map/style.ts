/**
 * The web map's stylesheet. Link colours are defined once, as custom properties, and used by the
 * lines, their arrowheads, the hop table and the legend alike.
 */
export const STYLE = `
:root {
  --good: #2e9e44; --fair: #c9a800; --poor: #e07000; --bad: #d32f2f; --down: #d32f2f; --unknown: #9e9e9e;
  --ink: #222; --muted: #6b6b6b; --line: #ddd; --panel: #f7f7f5; --relay: #3b6fb6;
  font: 14px/1.4 system-ui, sans-serif; color: var(--ink);
}
body { margin: 0; display: flex; flex-direction: column; height: 100vh; }
header { display: flex; flex-wrap: wrap; gap: 4px 20px; align-items: baseline; padding: 8px 16px; border-bottom: 1px solid var(--line); }
header h1 { font-size: 16px; margin: 0; }
header .muted { color: var(--muted); }
#role[data-role="standby"] { color: var(--poor); }
#status { padding: 8px 16px; background: #fdecea; color: #8a1c1c; border-bottom: 1px solid #f5c2be; font-weight: 600; }
body[data-state="unreachable"] svg { opacity: 0.45; }
main { flex: 1; display: flex; min-height: 0; }
#map { flex: 1; min-width: 0; height: 100%; }
aside { width: 340px; overflow-y: auto; padding: 8px 16px; background: var(--panel); border-left: 1px solid var(--line); }
aside h2 { font-size: 14px; margin: 12px 0 6px; }
aside label { margin-right: 6px; }
aside p { margin: 6px 0; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
td, th { padding: 2px 4px; text-align: right; }
td:first-child, th:first-child { text-align: left; }
tr.total td { border-top: 1px solid var(--muted); font-weight: 600; }
.q::before { content: ""; display: inline-block; width: 14px; height: 4px; margin-right: 6px; vertical-align: middle; background: var(--c); }
.q.down::before { background: repeating-linear-gradient(90deg, var(--c) 0 4px, transparent 4px 7px); }
.q.unknown::before { background: repeating-linear-gradient(90deg, var(--c) 0 2px, transparent 2px 4px); }
#legend td { text-align: left; vertical-align: top; }
#legend td:first-child { white-space: nowrap; }
.good { --c: var(--good); } .fair { --c: var(--fair); } .poor { --c: var(--poor); }
.bad { --c: var(--bad); } .down { --c: var(--down); } .unknown { --c: var(--unknown); }
.link { stroke: var(--c); stroke-width: 2.5; stroke-linecap: round; }
.link.down { stroke-dasharray: 6 4; }
.link.unknown { stroke-dasharray: 2 3; }
.small .link { stroke-width: 1; opacity: 0.6; }
.small.has-path .link:not([data-path]) { opacity: 0.08; }
.arrow { fill: var(--c); }
.has-path .link:not([data-path]) { opacity: 0.2; }
.has-path .relay:not([data-path]) { opacity: 0.45; }
.link[data-path] { stroke-width: 5; }
.relay { cursor: pointer; }
.relay circle { fill: var(--relay); stroke: #fff; stroke-width: 2; }
.relay.down circle { fill: #b0b0b0; }
.relay[data-path] circle { stroke: var(--ink); stroke-width: 3; }
.relay:focus { outline: none; }
.relay:focus circle { stroke: var(--ink); }
.relay text { font-size: 15px; fill: var(--ink); paint-order: stroke; stroke: #fff; stroke-width: 3px; }
.relay.down text { fill: var(--muted); }
.small .relay circle { stroke-width: 0.5; }
`
