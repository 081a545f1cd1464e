import type { IncomingMessage, ServerResponse, Server } from 'node:http'
import type { Registry } from 'prom-client'
import type { Logger } from '../src/logging.js'
import { sendJson, sendMetrics, startHttpServer, type HttpRoute } from '../src/http.js'
import type { HostPort } from '../src/transport/address.js'

/** What the HTTP API reads from the running controller. Every call happens per request. */
export interface ControllerHttpDeps {
  /**
   * The JSON body of GET /api/topology at the current table version (topology-cache.ts builds it
   * once per version); with routes false, `routes` may be left {} (it is n² entries). With its
   * gzip'd form too, clients that send Accept-Encoding: gzip are sent that.
   */
  topology: (opts: { routes: boolean }) => Promise<Buffer | { identity: Buffer, gzip: Buffer }>
  role: () => 'leader' | 'standby'
  /** /healthz `ready` (Controller.ready); absent means ready. */
  ready?: () => boolean
  registry: Registry
  log: Logger
  /** HTML for GET / (the web map); without it GET / is 404. */
  page?: () => string
}

/**
 * The controller's HTTP API (docs/http-api.md): GET /api/topology, /healthz, /metrics and the
 * web map at /. Read-only: anything but GET and HEAD is 405. A failing snapshot or page answers
 * 500 and is logged; it never takes the controller down.
 */
export async function startControllerHttp (addr: HostPort, deps: ControllerHttpDeps): Promise<{ server: Server, bound: HostPort }> {
  const log = deps.log.child({ component: 'http-api' })
  const routes: HttpRoute[] = []
  const page = deps.page
  if (page !== undefined) routes.push({ method: 'GET', path: '/', handle: (_req, res) => { res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page()) } })
  routes.push(
    { method: 'GET', path: '/api/topology', handle: async (req, res) => { await serveTopology(req, res, deps) } },
    { method: 'GET', path: '/healthz', handle: (_req, res) => { sendJson(res, 200, { role: deps.role(), ready: deps.ready?.() ?? true }) } },
    { method: 'GET', path: '/metrics', handle: (_req, res) => { sendMetrics(res, deps.registry, log) } }
  )
  return await startHttpServer(addr, { name: 'controller', routes, log })
}

async function serveTopology (req: IncomingMessage, res: ServerResponse, deps: ControllerHttpDeps): Promise<void> {
  const routes = routesParam(req)
  if (routes === undefined) {
    sendJson(res, 400, { error: 'routes must be true or false, as in /api/topology?routes=false' })
    return
  }
  const got = await deps.topology({ routes })
  // The client went away while the body was being built.
  if (res.destroyed) return
  // A topology is only true at the instant it was taken: no proxy or browser may reuse one.
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'cache-control': 'no-store' }
  let body: Buffer
  if (Buffer.isBuffer(got)) {
    body = got
  } else {
    headers.vary = 'Accept-Encoding'
    if (acceptsGzip(req.headers['accept-encoding'])) { body = got.gzip; headers['content-encoding'] = 'gzip' } else body = got.identity
  }
  headers['content-length'] = body.length
  res.writeHead(200, headers).end(body)
}

/** Whether an Accept-Encoding header takes gzip (or *) with a q-value above 0. */
export function acceptsGzip (header: string | undefined): boolean {
  if (header === undefined) return false
  let star = false
  for (const part of header.split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';')
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
    const ok = q === undefined || Number(q.slice(2)) > 0
    if (coding.trim() === 'gzip' || coding.trim() === 'x-gzip') return ok
    if (coding.trim() === '*') star = ok
  }
  return star
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
