import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { Command } from 'commander'
import { ConfigError } from '../../src/errors.js'
import { parseHostPort, type HostPort } from '../../src/transport/address.js'
import { parseImpairUpdate } from '../../src/transport/impair/params-schema.js'
import { ImpairProxy } from '../../src/transport/impair/udp-proxy.js'
import { loggerFor, parseReadyFd, untilSignal, withCommonOptions, withReadyFd, writeReadyLine } from '../common.js'
import { closeHttp, sendJson, startHttpServer, withJsonBody, type HttpRoute } from '../../src/http.js'
import type { Logger } from '../../src/logging.js'

interface ImpairOptions {
  listen?: string
  to?: string
  loss: string
  delay: string
  jitter: string
  rate: string
  queue: string
  seed: string
  http?: string
  readyFd?: string
  logLevel: string
}

function number (text: string, flag: string, min: number, max: number): number {
  const v = Number(text)
  if (text.trim() === '' || !Number.isFinite(v) || v < min || v > max) throw new ConfigError(`${flag} '${text}' is not a number from ${min} to ${max}`)
  return v
}

/** The control endpoint of --http: GET and POST (or PUT) /params, GET /stats. */
function impairRoutes (proxy: ImpairProxy, log: Logger): HttpRoute[] {
  const setParams = (req: IncomingMessage, res: ServerResponse): void => {
    withJsonBody(req, res, (body) => {
      const update = parseImpairUpdate(body)
      proxy.set(update)
      log.info({ update }, 'impairment changed')
      return proxy.forward.model.params
    })
  }
  return [
    { method: 'GET', path: '/params', handle: (_req, res) => { sendJson(res, 200, proxy.forward.model.params) } },
    { method: 'POST', path: '/params', handle: setParams },
    { method: 'PUT', path: '/params', handle: setParams },
    { method: 'GET', path: '/stats', handle: (_req, res) => { sendJson(res, 200, { forward: proxy.forward.model.stats, reverse: proxy.reverse.model.stats }) } }
  ]
}

export function impairCommand (): Command {
  return withReadyFd(withCommonOptions(new Command('impair')))
    .description('a user-space impaired UDP hop: forwards --listen to --to with loss, delay, jitter and a rate limit; replies come back impaired too')
    .option('--listen <host:port>', 'UDP address clients send to')
    .option('--to <host:port>', 'UDP address traffic is forwarded to')
    .option('--loss <p>', 'random loss probability, 0 to 1', '0')
    .option('--delay <ms>', 'one-way delay in milliseconds', '0')
    .option('--jitter <ms>', 'delay jitter, ± milliseconds (packets are not reordered)', '0')
    .option('--rate <pps>', 'rate limit in packets per second (0: none)', '0')
    .option('--queue <packets>', 'packets that may wait for the rate limiter', '1000')
    .option('--seed <n>', 'PRNG seed, for reproducible runs', '1')
    .option('--http <host:port>', 'control endpoint: GET /params, POST /params with JSON such as {"loss":0.2,"outage":true}, GET /stats (to requests whose Host is this address)')
    .addHelpText('after', `
Both directions get the same impairments. Parameters (JSON keys for POST /params): loss, burst
({pGoodToBad, pBadToGood, lossGood, lossBad} or null), delayMs, jitterMs, reorder, ratePps,
queueLimit, outage.

Example:
  relaymesh impair --listen 127.0.0.1:8000 --to 127.0.0.1:7002 --loss 0.05 --delay 20 --jitter 5 --http 127.0.0.1:8080
  curl -X POST 127.0.0.1:8080/params -H 'content-type: application/json' -d '{"outage": true}'

Each direction holds at most 16 MiB of delayed packets; more are dropped (counted as queue in /stats).`)
    .action(async (opts: ImpairOptions) => {
      const log = loggerFor(opts)
      if (opts.listen === undefined) throw new ConfigError('--listen is required; for example --listen 127.0.0.1:8000')
      if (opts.to === undefined) throw new ConfigError('--to is required; for example --to 127.0.0.1:7002')
      const params = {
        loss: number(opts.loss, '--loss', 0, 1),
        delayMs: number(opts.delay, '--delay', 0, 60_000),
        jitterMs: number(opts.jitter, '--jitter', 0, 60_000),
        ratePps: number(opts.rate, '--rate', 0, 10_000_000),
        queueLimit: number(opts.queue, '--queue', 1, 1_000_000)
      }
      const readyFd = parseReadyFd(opts.readyFd)
      const proxy = new ImpairProxy({ logger: log }, {
        listen: parseHostPort(opts.listen, '--listen', true),
        to: parseHostPort(opts.to, '--to'),
        forward: params,
        seed: number(opts.seed, '--seed', 0, 2 ** 32 - 1)
      })
      const http = opts.http === undefined ? undefined : parseHostPort(opts.http, '--http', true)
      await proxy.start()
      let started: { server: Server, bound: HostPort } | undefined
      try {
        if (http !== undefined) started = await startHttpServer(http, { name: 'impair', log, routes: impairRoutes(proxy, log) })
      } catch (err) {
        proxy.stop()
        throw err
      }
      const server = started?.server
      log.info({ listen: proxy.bound, to: opts.to, params, http: opts.http }, 'impair started')
      writeReadyLine(readyFd, { listen: proxy.bound, http: started?.bound }, log)
      await untilSignal(async () => {
        proxy.stop()
        if (server !== undefined) await closeHttp(server)
      }, log)
    })
}
