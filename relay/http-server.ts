import { createServer, type Server } from 'node:http'
import type { Registry } from 'prom-client'
import type { Logger } from '../src/logging.js'
import { allowReadOnly, listenHttp, requestPath, sendJson, sendMetrics, withJsonBody } from '../src/http.js'
import { parseHostPort, type HostPort } from '../src/transport/address.js'
import { parseImpairUpdate } from '../src/transport/impair/params-schema.js'
import type { LinkEmulator } from './link-emulator.js'

/**
 * The relay's small HTTP endpoint: /metrics (Prometheus) and /healthz (`{"role": "relay",
 * "ready": bool}`, ready as Relay.ready defines it). With a link emulator
 * (`--emulate-links`, for simulations and tests) it also takes
 * `POST /emulation/links {"to": "HOST:PORT", ...impairment}` to impair what this relay sends to
 * that address; see docs/simulation.md.
 */
export async function startRelayHttp (addr: HostPort, registry: Registry, log: Logger, emulator?: LinkEmulator, ready: () => boolean = () => true): Promise<{ server: Server, bound: HostPort }> {
  const server = createServer((req, res) => {
    const path = requestPath(req)
    if (emulator !== undefined && path === '/emulation/links' && req.method === 'POST') {
      withJsonBody(req, res, (body) => {
        const { to, ...params } = (typeof body === 'object' && body !== null ? body : {}) as { to?: unknown }
        if (typeof to !== 'string') throw new TypeError('"to" must be the peer\'s HOST:PORT')
        const peer = parseHostPort(to, '"to"')
        const update = parseImpairUpdate(params)
        emulator.set(peer.host, peer.port, update)
        log.debug({ to, update }, 'link emulation changed')
        return { to, ...update }
      })
      return
    }
    if (!allowReadOnly(req, res)) return
    if (path === '/healthz') {
      sendJson(res, 200, { role: 'relay', ready: ready() })
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
