import type { IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse } from 'node:http'
import type { Registry } from 'prom-client'
import { ioError } from './errors.js'
import type { Logger } from './logging.js'
import type { HostPort } from './transport/address.js'

/**
 * The small pieces every relaymesh HTTP endpoint (relay, controller) shares. Each daemon keeps its
 * own routing; these only cover listening, the JSON and metrics answers, and closing.
 */

/**
 * Starts `server` listening on `addr` and resolves with the address actually bound, so that port 0
 * (tests) reports the port the kernel chose. A failure to bind rejects with an RM_ERR_SOCKET error
 * naming the address; later server errors are logged, never thrown, since nothing could catch them.
 */
export async function listenHttp (server: Server, addr: HostPort, log: Logger): Promise<HostPort> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => { reject(ioError(`listen HTTP ${addr.host}:${addr.port}`, err)) })
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
export function requestPath (req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0]
}

/** True for GET and HEAD; otherwise answers 405 and returns false. Node drops bodies on HEAD itself. */
export function allowReadOnly (req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return true
  res.writeHead(405, { allow: 'GET, HEAD' }).end()
  return false
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

/**
 * Reads a JSON request body (empty = {}) and hands it to `handle`; a body that is too large or not
 * JSON, or a `handle` that throws, is answered 400 with the reason, never thrown.
 */
export function withJsonBody (req: IncomingMessage, res: ServerResponse, handle: (body: unknown) => unknown): void {
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
      sendJson(res, 400, { error: (err as Error).message })
    }
  })
}
