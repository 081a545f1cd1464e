import { Command, Option } from 'commander'
import { systemClock } from '../../src/clock.js'
import { ConfigError } from '../../src/errors.js'
import { readMeshKeyFile } from '../../src/mesh-key.js'
import { createStore } from '../../src/store/index.js'
import { parseHostPort } from '../../src/transport/address.js'
import { Controller } from '../../controller/controller.js'
import { startControllerHttp } from '../../controller/http-api.js'
import { webMapPage } from '../../controller/web-map.js'
import { DEFAULT_NEIGHBOUR_POLICY } from '../../topology/neighbours.js'
import { loggerFor, untilSignal, withCommonOptions } from '../common.js'

interface ControllerOptions {
  control: string
  http: string
  meshKeyFile?: string
  redis?: string
  redisPrefix: string
  costPolicy: string
  fullMeshMax: string
  nearest: string
  randomLinks: string
  logLevel: string
}

function count (text: string, flag: string, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) > max) throw new ConfigError(`${flag} '${text}' is not a whole number from 0 to ${max}`)
  return Number(text)
}

export function controllerCommand (): Command {
  return withCommonOptions(new Command('controller'))
    .description('run the path controller: takes link reports, computes routes, pushes forwarding tables to relays')
    .option('--control <host:port>', 'QUIC address relays connect to', '127.0.0.1:7000')
    .option('--http <host:port>', 'serve the web map (/), /api/topology, /metrics and /healthz on this TCP address', '127.0.0.1:8080')
    .addOption(new Option('--mesh-key-file <file>', 'mesh key file (create one with: relaymesh keygen FILE)'))
    .option('--redis <url>', 'keep state in Redis (redis://HOST:PORT/DB) so a restarted or standby controller recovers it; default: in memory')
    .option('--redis-prefix <prefix>', 'prefix of every Redis key, to share one Redis between meshes', 'relaymesh:')
    .addOption(new Option('--cost-policy <kind>', 'link cost: expected delay with a loss penalty, or hop count').choices(['latency-loss', 'hops']).default('latency-loss'))
    .option('--full-mesh-max <n>', 'up to this many relays every relay probes every other', String(DEFAULT_NEIGHBOUR_POLICY.fullMeshMax))
    .option('--nearest <n>', 'beyond that, each relay probes its n nearest by RTT…', String(DEFAULT_NEIGHBOUR_POLICY.nearest))
    .option('--random-links <n>', '…plus n random others, re-drawn every 30 s', String(DEFAULT_NEIGHBOUR_POLICY.random))
    .addHelpText('after', `
Examples:
  relaymesh keygen mesh.key
  relaymesh controller --control 127.0.0.1:7000 --http 127.0.0.1:8080 --mesh-key-file mesh.key
  relaymesh relay --id a --listen 127.0.0.1:7001 --controller 127.0.0.1:7000 --mesh-key-file mesh.key

High availability: run two controllers on one Redis (--redis). One holds the leadership lease and
pushes tables; the other stands by and takes over within about 2 s of the leader's death. Give
relays both addresses (--controller twice). SIGINT or SIGTERM stops the controller cleanly and
hands the lease over at once.`)
    .action(async (opts: ControllerOptions) => {
      const log = loggerFor(opts)
      if (opts.meshKeyFile === undefined) throw new ConfigError('--mesh-key-file is required; for example --mesh-key-file mesh.key (create one with: relaymesh keygen mesh.key)')
      const control = parseHostPort(opts.control, '--control', true)
      const http = parseHostPort(opts.http, '--http', true)
      const meshKey = Buffer.from(await readMeshKeyFile(opts.meshKeyFile))
      const policy = {
        fullMeshMax: count(opts.fullMeshMax, '--full-mesh-max', 100_000),
        nearest: count(opts.nearest, '--nearest', 1_000),
        random: count(opts.randomLinks, '--random-links', 1_000)
      }
      if (opts.redis !== undefined && !/^rediss?:\/\//.test(opts.redis)) throw new ConfigError(`--redis '${opts.redis}' is not a Redis URL; use redis://HOST:PORT or redis://HOST:PORT/DB`)
      const store = await createStore({ clock: systemClock, redisUrl: opts.redis, prefix: opts.redisPrefix })
      const controller = new Controller({ clock: systemClock, logger: log, store }, { control, meshKey, costPolicy: opts.costPolicy, neighbourPolicy: policy })
      await controller.start().catch(async (err: unknown) => { await controller.stop(); await store.close(); throw err })
      const { server, bound } = await startControllerHttp(http, {
        topology: async (o) => await controller.topology(o),
        role: () => controller.role,
        registry: controller.metrics.registry,
        log,
        page: webMapPage
      })
      log.info({ http: bound }, 'controller HTTP API listening')
      await untilSignal(async () => {
        server.closeAllConnections()
        await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
        await controller.stop()
        await store.close()
      }, log)
    })
}
