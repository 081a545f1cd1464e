import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http'
import { isIP } from 'node:net'
import type { Registry } from 'prom-client'
import { ErrorCode, RelaymeshError } from './errors.js'
import type { Logger } from './logging.js'
import { formatHostPort, type HostPort } from './transport/address.js'

/**
 * The one HTTP server every relaymesh daemon (relay, controller, impair) runs: the Host check,
 * routing by path and method, the 404/405/500 answers, listening and closing. A daemon brings
 * only its routes.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT'

/** One path and method a daemon serves. A GET route answers HEAD too (Node drops the body). */
export interface HttpRoute {
  method: HttpMethod
  path: string
  /** May answer later; a throw or a rejection is answered 500 and logged, never taken to the process. */
  handle: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>
}

export interface HttpServerInit {
  /** The daemon, as a 500 answer names its log: 'controller', 'relay', 'impair'. */
  name: string
  routes: readonly HttpRoute[]
  log: Logger
}

/**
 * Returns the request handler for `routes` (docs/http-api.md): a path no route has gets 404 with
 * the paths there are; a path with no route for the method gets 405 with `Allow`.
 */
function httpRouter (init: HttpServerInit): (req: IncomingMessage, res: ServerResponse) => void {
  const byPath = new Map<string, Map<string, HttpRoute['handle']>>()
  for (const r of init.routes) {
    const methods = byPath.get(r.path) ?? new Map<string, HttpRoute['handle']>()
    if (methods.has(r.method)) throw new TypeError(`two HTTP routes for ${r.method} ${r.path}`)
    methods.set(r.method, r.handle)
    byPath.set(r.path, methods)
  }
  const paths = [...byPath.keys()]
  const allow = new Map([...byPath].map(([path, m]) => [path, [...m.keys()].flatMap((x) => (x === 'GET' ? ['GET', 'HEAD'] : [x])).join(', ')]))
  return (req, res) => {
    const path = requestPath(req)
    const methods = byPath.get(path)
    if (methods === undefined) {
      req.resume()
      sendJson(res, 404, { error: 'not found', paths })
      return
    }
    const handle = methods.get(req.method === 'HEAD' ? 'GET' : req.method ?? '')
    if (handle === undefined) {
      req.resume()
      res.writeHead(405, { allow: allow.get(path) }).end()
      return
    }
    const fail = (err: unknown): void => {
      init.log.error({ path, err: (err as Error).message }, 'http request failed')
      if (!res.headersSent) sendJson(res, 500, { error: `${path} failed; the ${init.name} log has the reason` })
      else res.destroy()
    }
    try {
      // A throw or rejection here would escape into the server's 'request' emit and kill the process.
      handle(req, res)?.catch(fail)
    } catch (err) {
      fail(err)
    }
  }
}

/**
 * Starts a daemon's HTTP server on `addr` (the Host check first, then `httpRouter`) and resolves
 * with the server and the address it bound.
 */
export async function startHttpServer (addr: HostPort, init: HttpServerInit): Promise<{ server: Server, bound: HostPort }> {
  const route = httpRouter(init)
  const server = createServer((req, res) => {
    if (hostOk(req, res)) route(req, res)
  })
  const hostOk = hostGuard(server)
  const bound = await listenHttp(server, addr, init.log)
  return { server, bound }
}

/** What to do about a failed listen, by errno; every daemon takes its HTTP address as --http. */
const LISTEN_FIX: Record<string, string> = {
  EADDRINUSE: 'another process holds it: stop that one, or pass --http another HOST:PORT (port 0 picks a free one)',
  EADDRNOTAVAIL: 'no interface of this host has that address: pass --http one that it has, or 0.0.0.0',
  EACCES: 'ports below 1024 need privileges: pass --http a port from 1024 up'
}

/**
 * Starts `server` listening on `addr` and resolves with the address actually bound, so that port 0
 * (tests) reports the port the kernel chose. A failure to bind rejects with a one-line RM_ERR_SOCKET
 * error naming the address and the fix; later server errors are logged, never thrown, since
 * nothing could catch them.
 */
async function listenHttp (server: Server, addr: HostPort, log: Logger): Promise<HostPort> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const fix = LISTEN_FIX[err.code ?? '']
      const why = fix === undefined ? err.message : `${err.code ?? ''}, ${fix}`
      reject(new RelaymeshError(ErrorCode.SOCKET, `cannot listen for HTTP on ${formatHostPort(addr)}: ${why}`, { cause: err }))
    })
    server.listen(addr.port, addr.host, () => { resolve() })
  })
  server.on('error', (err) => { log.warn({ err: err.message }, 'http server error') })
  const a = server.address()
  return typeof a === 'object' && a !== null ? { host: a.address, port: a.port, family: addr.family } : addr
}

/** Stops accepting, drops open connections (keep-alive ones included) and resolves once closed. */
export async function closeHttp (server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
}

/** The request's path without its query string. */
function requestPath (req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0]
}

export function sendJson (res: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))
}

/** Answers with the registry's Prometheus text; a failing collector gives 500, logged. */
export function sendMetrics (res: ServerResponse, registry: Registry, log: Logger): void {
  registry.metrics().then((text) => {
    res.writeHead(200, { 'content-type': registry.contentType }).end(text)
  }, (err: Error) => {
    log.error({ err: err.message }, 'metrics collection failed')
    res.writeHead(500).end()
  })
}

/** Largest request body any relaymesh endpoint accepts. */
export const MAX_BODY_BYTES = 64 * 1024

/** Thrown by a withJsonBody handler to answer with its own 4xx status rather than 400. */
export class HttpError extends Error {
  constructor (readonly status: number, message: string) { super(message) }
}

/**
 * Reads a JSON request body (empty = {}) and hands it to `handle`; a body that is too large or not
 * JSON, or a `handle` that throws, is answered 400 (or an HttpError's status) with the reason,
 * never thrown. A request whose content type is not application/json is answered 415: a web page
 * can send a cross-origin POST with a form or text type without asking, but not with this one.
 */
export function withJsonBody (req: IncomingMessage, res: ServerResponse, handle: (body: unknown) => unknown): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
  if (type !== 'application/json') {
    req.resume()
    sendJson(res, 415, { error: `content-type '${req.headers['content-type'] ?? ''}' is not application/json; send -H 'content-type: application/json'` })
    return
  }
  let body = ''
  let tooBig = false
  req.setEncoding('utf8')
  req.on('data', (d: string) => {
    body += d
    if (body.length > MAX_BODY_BYTES && !tooBig) { tooBig = true; sendJson(res, 413, { error: `body over ${MAX_BODY_BYTES} bytes` }); req.destroy() }
  })
  req.on('end', () => {
    if (tooBig) return
    try {
      sendJson(res, 200, handle(JSON.parse(body === '' ? '{}' : body)))
    } catch (err) {
      sendJson(res, err instanceof HttpError ? err.status : 400, { error: (err as Error).message })
    }
  })
}

/**
 * DNS rebinding guard. A web page can point a name it controls at 127.0.0.1 and then talk to a
 * local daemon as if it were its own origin; the one thing it cannot forge is the `Host` header,
 * which names the page's host. So every relaymesh HTTP server answers only requests whose `Host`
 * names the address it is bound to (docs/http-api.md, "Host check"):
 * - bound to one address: `Host` is that IP literal with the bound port, or `localhost:PORT` when
 *   the address is loopback;
 * - bound to a wildcard (0.0.0.0, ::): any IP literal with any port (a NAT or a port mapping in
 *   front decides what clients see), or `localhost` with any port;
 * - any other name (`relay1.example.net`, `attacker.example`) is refused, since the server cannot
 *   tell a name of its own from one a rebinding page made up. Reach the server by IP, or through a
 *   proxy that sets `Host` to the bound address.
 */
export function hostAllowed (host: string | undefined, bound: { address: string, port: number }): boolean {
  if (host === undefined || host === '') return false
  let url: URL
  try { url = new URL(`http://${host}`) } catch { return false }
  // Anything beyond host[:port] (user info, a path) is not a Host header.
  if (url.username !== '' || url.password !== '' || url.pathname !== '/' || url.search !== '' || url.hash !== '') return false
  const port = url.port === '' ? 80 : Number(url.port)
  const name = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  const wildcard = bound.address === '0.0.0.0' || bound.address === '::'
  if (name === 'localhost' || name === 'localhost.') return wildcard || (port === bound.port && isLoopback(bound.address))
  if (isIP(name) === 0) return false
  return wildcard || (port === bound.port && sameIp(name, bound.address))
}

/** 127.0.0.0/8, ::1 and their IPv4-mapped form. */
export function isLoopback (ip: string): boolean {
  const v4 = ip.toLowerCase().startsWith('::ffff:') ? ip.slice(7) : ip
  return (isIP(v4) === 4 && v4.startsWith('127.')) || canonicalIp(ip) === '::1'
}

function sameIp (a: string, b: string): boolean {
  return canonicalIp(a) === canonicalIp(b)
}

/** One spelling per address (IPv6 compressed and lower case, as URL writes it). */
function canonicalIp (ip: string): string {
  if (isIP(ip) !== 6) return ip
  try { return new URL(`http://[${ip}]/`).hostname.slice(1, -1) } catch { return ip }
}

/**
 * Returns the Host check for `server`, to call first in its request handler: true when the
 * request may go on; otherwise it has answered 421 with a JSON error naming the Host and the
 * address to use instead. The bound address is read once, at the first request.
 */
function hostGuard (server: Server): (req: IncomingMessage, res: ServerResponse) => boolean {
  let bound: { address: string, port: number } | undefined
  return (req, res) => {
    if (bound === undefined) {
      const a = server.address()
      // Only a server on a pipe has no address; relaymesh binds TCP, so this is a bug, not input.
      if (typeof a !== 'object' || a === null) { sendJson(res, 500, { error: 'the server has no TCP address to check Host against' }); return false }
      bound = { address: a.address, port: a.port }
    }
    if (hostAllowed(req.headers.host, bound)) return true
    const use = `http://${formatHostPort({ host: bound.address === '0.0.0.0' || bound.address === '::' ? '127.0.0.1' : bound.address, port: bound.port })}/`
    sendJson(res, 421, { error: `Host '${req.headers.host ?? ''}' is not this server's address (a DNS rebinding guard); use ${use}` })
    return false
  }
}
