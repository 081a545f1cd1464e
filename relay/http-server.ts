import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Registry } from 'prom-client'
import { ConfigError } from '../src/errors.js'
import type { Logger } from '../src/logging.js'
import { HttpError, isLoopback, sendJson, sendMetrics, startHttpServer, withJsonBody, type HttpRoute } from '../src/http.js'
import { formatHostPort, parseHostPort, type HostPort } from '../src/transport/address.js'
import { parseImpairUpdate } from '../src/transport/impair/params-schema.js'
import { checkEmulationHttp, type EmulationAuth } from './emulation-auth.js'
import type { LinkEmulator } from './link-emulator.js'

/** What `POST /emulation/links` needs: the emulator, the token, and who the neighbours are. */
export interface LinkEmulation {
  emulator: LinkEmulator
  auth: EmulationAuth
  /** The id of the current neighbour at this address, or undefined. */
  neighbourAt: (to: HostPort) => string | undefined
}

/**
 * The relay's small HTTP endpoint: /metrics (Prometheus) and /healthz (`{"role": "relay",
 * "ready": bool}`, ready as Relay.ready defines it). With link emulation
 * (`--emulate-links`, for simulations and tests) it also takes
 * `POST /emulation/links {"to": "HOST:PORT", ...impairment}` to impair what this relay sends to
 * that neighbour; see docs/simulation.md.
 */
export async function startRelayHttp (addr: HostPort, registry: Registry, log: Logger, emulation?: LinkEmulation, ready: () => boolean = () => true): Promise<{ server: Server, bound: HostPort }> {
  if (emulation !== undefined) checkEmulationHttp(addr)
  const routes: HttpRoute[] = [
    { method: 'GET', path: '/metrics', handle: (_req, res) => { sendMetrics(res, registry, log) } },
    { method: 'GET', path: '/healthz', handle: (_req, res) => { sendJson(res, 200, { role: 'relay', ready: ready() }) } }
  ]
  if (emulation !== undefined) routes.push({ method: 'POST', path: '/emulation/links', handle: (req, res) => { emulate(req, res, emulation, log) } })
  return await startHttpServer(addr, { name: 'relay', routes, log })
}

/**
 * POST /emulation/links: the token first (401), then a JSON content type (415; a browser cannot
 * send one cross-origin without a CORS preflight, which this server never grants), then the body
 * (400) and a `to` that is a current neighbour (404), so the emulator holds a line for no address
 * the relay does not send to.
 */
function emulate (req: IncomingMessage, res: ServerResponse, emulation: LinkEmulation, log: Logger): void {
  if (!emulation.auth.allows(req.headers.authorization)) {
    req.resume()
    sendJson(res, 401, { error: 'POST /emulation/links needs Authorization: Bearer TOKEN, the token in the relay\'s --emulate-links-token-file' }, { 'www-authenticate': 'Bearer' })
    return
  }
  withJsonBody(req, res, (body) => {
    const { to, ...params } = (typeof body === 'object' && body !== null ? body : {}) as { to?: unknown }
    if (typeof to !== 'string') throw new TypeError('"to" must be the peer\'s HOST:PORT')
    const peer = parseHostPort(to, '"to"')
    const update = parseImpairUpdate(params)
    const id = emulation.neighbourAt(peer)
    if (id === undefined) throw new HttpError(404, `"to" ${to} is not the address of a current neighbour of this relay`)
    emulation.emulator.set(peer.host, peer.port, update)
    log.debug({ to, peer: id, update }, 'link emulation changed')
    return { to, ...update }
  })
}
