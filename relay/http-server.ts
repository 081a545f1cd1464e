import { createServer, type Server } from 'node:http'
import type { Registry } from 'prom-client'
import type { Logger } from '../src/logging.js'
import { allowReadOnly, listenHttp, requestPath, sendJson, sendMetrics } from '../src/http.js'
import type { HostPort } from '../src/transport/address.js'

/** The relay's small HTTP endpoint: /metrics (Prometheus) and /healthz. */
export async function startRelayHttp (addr: HostPort, registry: Registry, log: Logger): Promise<{ server: Server, bound: HostPort }> {
  const server = createServer((req, res) => {
    if (!allowReadOnly(req, res)) return
    const path = requestPath(req)
    if (path === '/healthz') {
      sendJson(res, 200, { role: 'relay' })
      return
    }
    if (path === '/metrics') {
      sendMetrics(res, registry, log)
      return
    }
    sendJson(res, 404, { error: 'not found', paths: ['/metrics', '/healthz'] })
  })
  const bound = await listenHttp(server, addr, log)
  return { server, bound }
}
