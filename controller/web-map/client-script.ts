/**
 * Browser code of the web map: polling, the status line and the route picker. Runs in the page
 * script's scope (CONFIG, createMap(), quality() and the formatters); no backticks or template
 * placeholders, as it sits inside one.
 */
export const CLIENT_SCRIPT = String.raw`
const $ = function (id) { return document.getElementById(id) }
const map = createMap($('map'))
let snapshot = null // the last topology seen; kept on screen while the controller is unreachable
let withRoutes = false // whether snapshot was asked for with its routes
let selectIds = '' // the relay ids the <select>s list, to rebuild them only when relays change
let timer = 0
let busy = false
let again = false
let failingSince = null

function clock (d) { return d.toLocaleTimeString() }

function selected () {
  const src = $('src').value
  const dst = $('dst').value
  return src !== '' && dst !== '' && src !== dst ? { src: src, dst: dst } : null
}

// Routes are n² entries: ask for them only while a route is shown, and never for a mesh so big
// that building them would stall the controller.
function wantRoutes () {
  return selected() !== null && (snapshot === null || snapshot.relays.length <= CONFIG.routesMaxRelays)
}

async function getJson (path) {
  // A timeout, because a controller whose event loop is stuck accepts and never answers.
  const res = await fetch(path, { cache: 'no-store', signal: AbortSignal.timeout(CONFIG.pollTimeoutMs) })
  if (!res.ok) throw new Error(path + ' answered HTTP ' + res.status)
  return res.json()
}

// One poll at a time, the next one a full interval after the last answer: a slow controller
// gets fewer requests, never a pile of them. Paths are relative so a proxy may mount us anywhere.
async function poll () {
  if (busy) { again = true; return }
  busy = true
  clearTimeout(timer)
  try {
    const routes = wantRoutes()
    const answers = await Promise.all([getJson('api/topology?routes=' + routes), getJson('healthz')])
    const topo = answers[0]
    if (!Array.isArray(topo.relays) || !Array.isArray(topo.links)) throw new Error('api/topology answered something that is not a topology')
    snapshot = topo
    withRoutes = routes
    $('role').textContent = String(answers[1].role)
    $('role').setAttribute('data-role', String(answers[1].role))
    render()
    live()
  } catch (err) {
    unreachable(err)
  } finally {
    busy = false
    timer = setTimeout(poll, again ? 0 : CONFIG.pollMs)
    again = false
  }
}

function live () {
  failingSince = null
  document.body.setAttribute('data-state', 'live')
  $('status').hidden = true
  $('updated').textContent = 'updated ' + clock(new Date())
}

function unreachable (err) {
  if (failingSince === null) failingSince = new Date()
  document.body.setAttribute('data-state', 'unreachable')
  const last = snapshot === null ? '' : ' The map shows table version ' + snapshot.version + ', the last one seen.'
  $('status').textContent = 'Controller unreachable since ' + clock(failingSince) + ' (' + err.message + '); retrying every ' + CONFIG.pollMs / 1000 + ' s.' + last
  $('status').hidden = false
}

function fillSelect (sel, ids) {
  const keep = sel.value
  sel.replaceChildren(new Option('\u2014', ''))
  for (const id of ids) sel.appendChild(new Option(id, id))
  sel.value = ids.includes(keep) ? keep : ''
}

function syncSelects (relays) {
  const ids = relays.map(function (r) { return r.id })
  const key = ids.join('\n')
  if (key === selectIds) return
  selectIds = key
  fillSelect($('src'), ids)
  fillSelect($('dst'), ids)
}

// What the route panel and the map show for the picked pair.
function routeView (s) {
  const none = { links: new Set(), relays: new Set(), route: null }
  const pick = selected()
  if (pick === null) return Object.assign(none, { message: 'Pick a source and a destination, or click two relays.' })
  if (s.relays.length > CONFIG.routesMaxRelays) {
    return Object.assign(none, { message: 'Routes are not fetched above ' + CONFIG.routesMaxRelays + ' relays (n\u00b2 entries); use: relaymesh topology path ' + pick.src + ' ' + pick.dst })
  }
  if (!withRoutes) return Object.assign(none, { message: 'Fetching the route\u2026' })
  const bySrc = Object.hasOwn(s.routes, pick.src) ? s.routes[pick.src] : {}
  const route = Object.hasOwn(bySrc, pick.dst) ? bySrc[pick.dst] : null
  if (route === null) return Object.assign(none, { message: 'No route from ' + pick.src + ' to ' + pick.dst + ': no chain of usable links leads there.' })
  const links = new Set()
  for (let i = 1; i < route.path.length; i++) links.add(route.path[i - 1] + '>' + route.path[i])
  const backup = route.backup === null ? 'no backup next hop' : 'backup next hop ' + route.backup
  return { links: links, relays: new Set(route.path), route: route, message: route.path.join(' \u2192 ') + ' \u00b7 cost ' + fmtCost(route.cost) + ' \u00b7 ' + backup }
}

function cell (row, text, cls) {
  const td = row.insertCell()
  td.textContent = text
  if (cls) td.className = cls
}

// The hops of the shown route, with each link's figures and a total the way the CLI adds them:
// RTTs summed, losses combined as independent (1 - product of (1 - loss)).
function showHops (s, view) {
  const body = $('hops').tBodies[0]
  body.replaceChildren()
  $('hops').hidden = view.route === null
  if (view.route === null) return
  const byKey = new Map(s.links.map(function (l) { return [l.from + '>' + l.to, l] }))
  let rtt = 0
  let kept = 1
  for (const key of view.links) {
    const l = byKey.get(key)
    const row = body.insertRow()
    cell(row, l === undefined ? key.replace('>', ' \u2192 ') : l.from + ' \u2192 ' + l.to, l === undefined ? '' : 'q ' + quality(l))
    cell(row, l === undefined ? '-' : fmtMs(l.rtt_ms))
    cell(row, l === undefined ? '-' : fmtLoss(l.loss))
    cell(row, l === undefined ? '-' : fmtCost(l.cost))
    rtt += l === undefined || l.rtt_ms === null ? NaN : l.rtt_ms
    kept *= l === undefined || l.loss === null ? NaN : 1 - l.loss
  }
  const total = body.insertRow()
  total.className = 'total'
  cell(total, 'total')
  cell(total, Number.isNaN(rtt) ? '-' : fmtMs(rtt))
  cell(total, Number.isNaN(kept) ? '-' : fmtLoss(1 - kept))
  cell(total, fmtCost(view.route.cost))
}

function render () {
  const s = snapshot
  if (s === null) return
  syncSelects(s.relays)
  const view = routeView(s)
  map.update(s, view.links, view.relays)
  $('version').textContent = String(s.version)
  const relaysDown = s.relays.filter(function (r) { return !r.up }).length
  const linksDown = s.links.filter(function (l) { return !l.up }).length
  $('counts').textContent = s.relays.length + ' relays (' + relaysDown + ' down) \u00b7 ' + s.links.length + ' links (' + linksDown + ' down)'
  $('route-summary').textContent = view.message
  showHops(s, view)
}

// Show what the snapshot in hand already says at once, then fetch the routes if it lacks them.
function routeChanged () {
  render()
  if (wantRoutes() && !withRoutes) poll()
}

map.onRelayClick(function (id) {
  const src = $('src')
  const dst = $('dst')
  if (src.value === '' || dst.value !== '') { src.value = id; dst.value = '' } else if (id !== src.value) dst.value = id
  routeChanged()
})
$('src').addEventListener('change', routeChanged)
$('dst').addEventListener('change', routeChanged)
$('swap').addEventListener('click', function () {
  const src = $('src').value
  $('src').value = $('dst').value
  $('dst').value = src
  routeChanged()
})
$('clear').addEventListener('click', function () {
  $('src').value = ''
  $('dst').value = ''
  routeChanged()
})
poll()
`
