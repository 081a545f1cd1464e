import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http'
import type { Registry } from 'prom-client'
import type { Logger } from '../src/logging.js'
import { allowReadOnly, hostGuard, listenHttp, requestPath, sendJson, sendMetrics } from '../src/http.js'
import type { HostPort } from '../src/transport/address.js'
import type { TopologySnapshot } from '../topology/snapshot.js'

/** What the HTTP API reads from the running controller. Every call happens per request. */
export interface ControllerHttpDeps {
  /** The current topology; with routes false, `routes` may be left {} (it is n² entries). */
  snapshot: (opts: { routes: boolean }) => TopologySnapshot
  role: () => 'leader' | 'standby'
  /** /healthz `ready` (Controller.ready); absent means ready. */
  ready?: () => boolean
  registry: Registry
  log: Logger
  /** HTML for GET / (the web map); without it GET / is 404. */
  page?: () => string
}

const PATHS = ['/api/topology', '/healthz', '/metrics']

/**
 * The controller's HTTP API (docs/http-api.md): GET /api/topology, /healthz, /metrics and the
 * web map at /. Read-only: anything but GET and HEAD is 405. A failing snapshot or page answers
 * 500 and is logged; it never takes the controller down.
 */
export async function startControllerHttp (addr: HostPort, deps: ControllerHttpDeps): Promise<{ server: Server, bound: HostPort }> {
  const log = deps.log.child({ component: 'http-api' })
  const server = createServer((req, res) => {
    if (!hostOk(req, res)) return
    if (!allowReadOnly(req, res)) return
    const path = requestPath(req)
    try {
      route(path, req, res, deps, log)
    } catch (err) {
      // A throw here would escape into the server's 'request' emit and kill the process.
      log.error({ path, err: (err as Error).message }, 'http request failed')
      if (!res.headersSent) sendJson(res, 500, { error: `${path} failed; the controller log has the reason` })
      else res.destroy()
    }
  })
  const hostOk = hostGuard(server)
  const bound = await listenHttp(server, addr, log)
  return { server, bound }
}

function route (path: string, req: IncomingMessage, res: ServerResponse, deps: ControllerHttpDeps, log: Logger): void {
  if (path === '/api/topology') {
    serveTopology(req, res, deps)
  } else if (path === '/healthz') {
    sendJson(res, 200, { role: deps.role(), ready: deps.ready?.() ?? true })
  } else if (path === '/metrics') {
    sendMetrics(res, deps.registry, log)
  } else if (path === '/' && deps.page !== undefined) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(deps.page())
  } else {
    sendJson(res, 404, { error: 'not found', paths: deps.page === undefined ? PATHS : ['/', ...PATHS] })
  }
}

function serveTopology (req: IncomingMessage, res: ServerResponse, deps: ControllerHttpDeps): void {
  const routes = routesParam(req)
  if (routes === undefined) {
    sendJson(res, 400, { error: 'routes must be true or false, as in /api/topology?routes=false' })
    return
  }
  const body = JSON.stringify(deps.snapshot({ routes }))
  // A topology is only true at the instant it was taken: no proxy or browser may reuse one.
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body)
}

/** ?routes=true|false|1|0; absent means true. Undefined for anything else. */
function routesParam (req: IncomingMessage): boolean | undefined {
  const url = req.url ?? ''
  const q = url.indexOf('?')
  const v = q < 0 ? null : new URLSearchParams(url.slice(q + 1)).get('routes')
  if (v === null || v === 'true' || v === '1') return true
  if (v === 'false' || v === '0') return false
  return undefined
}
