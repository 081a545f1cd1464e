import { createServer, type Server } from 'node:http'
import type { Registry } from 'prom-client'
import type { Logger } from '../src/logging.js'
import { ioError } from '../src/errors.js'
import type { HostPort } from '../src/transport/address.js'

/** The relay's small HTTP endpoint: /metrics (Prometheus) and /healthz. */
export async function startRelayHttp (addr: HostPort, registry: Registry, log: Logger): Promise<{ server: Server, bound: HostPort }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end()
      return
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ role: 'relay' }))
      return
    }
    if (path === '/metrics') {
      registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': registry.contentType }).end(text)
      }, (err: Error) => {
        log.error({ err: err.message }, 'metrics collection failed')
        res.writeHead(500).end()
      })
      return
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found', paths: ['/metrics', '/healthz'] }))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => { reject(ioError(`listen HTTP ${addr.host}:${addr.port}`, err)) })
    server.listen(addr.port, addr.host, () => { resolve() })
  })
  server.on('error', (err) => { log.warn({ err: err.message }, 'http server error') })
  const a = server.address()
  const bound = typeof a === 'object' && a !== null ? { host: a.address, port: a.port, family: addr.family } : addr
  return { server, bound }
}
