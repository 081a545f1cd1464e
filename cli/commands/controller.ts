import { Command, Option } from 'commander'
import { systemClock } from '../../src/clock.js'
import { ConfigError } from '../../src/errors.js'
import { readFile } from 'node:fs/promises'
import { readAllowListFile, readIdentityFile } from '../../src/identity.js'
import { readMeshKeyFile, warnIfExposed } from '../../src/mesh-key.js'
import type { Logger } from '../../src/logging.js'
import { createStore } from '../../src/store/index.js'
import { parseHostPort } from '../../src/transport/address.js'
import { AdvertisePolicy } from '../../controller/advertise-policy.js'
import { RELAY_EXPIRY_MS } from '../../controller/constants.js'
import { LEASE_TTL_MS } from '../../controller/constants.js'
import { Controller } from '../../controller/controller.js'
import { startControllerHttp } from '../../controller/http-api.js'
import { closeHttp } from '../../src/http.js'
import { webMapPage } from '../../controller/web-map.js'
import { DEFAULT_NEIGHBOUR_POLICY } from '../../topology/neighbours.js'
import { collect, loggerFor, parseReadyFd, untilSignal, withCommonOptions, withReadyFd, writeReadyLine } from '../common.js'

interface ControllerOptions {
  control: string
  http: string
  meshKeyFile?: string
  identity?: string
  relayKeys?: string
  redis?: string
  redisPasswordFile?: string
  redisPrefix: string
  costPolicy: string
  fullMeshMax: string
  nearest: string
  randomLinks: string
  advertiseAllow: string[]
  relayExpiry: string
  readyFd?: string
  logLevel: string
  /** --no-address-check sets it false. */
  addressCheck: boolean
}

/** The Redis password: the file's first line. */
async function readRedisPassword (path: string, log: Logger): Promise<string> {
  let text: string
  try { text = await readFile(path, 'utf8') } catch (err) {
    throw new ConfigError(`--redis-password-file '${path}' cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  const password = text.split(/\r?\n/)[0] ?? ''
  if (password === '') throw new ConfigError(`--redis-password-file '${path}' is empty; put the Redis password on its first line`)
  await warnIfExposed(path, 'Redis password file', log)
  return password
}

function count (text: string, flag: string, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) > max) throw new ConfigError(`${flag} '${text}' is not a whole number from 0 to ${max}`)
  return Number(text)
}

export function controllerCommand (): Command {
  return withReadyFd(withCommonOptions(new Command('controller')))
    .description('run the path controller: takes link reports, computes routes, pushes forwarding tables to relays')
    .option('--control <host:port>', 'QUIC address relays connect to', '127.0.0.1:7000')
    .option('--http <host:port>', 'serve the web map (/), /api/topology, /metrics and /healthz on this TCP address (to requests whose Host is this address; docs/http-api.md)', '127.0.0.1:8080')
    .addOption(new Option('--mesh-key-file <file>', 'mesh key file (create one with: relaymesh keygen FILE)'))
    .option('--identity <file>', "this controller's identity (relaymesh keygen --identity FILE); with --relay-keys, relays authenticate by their own keys instead of the mesh key (docs/security.md); SIGHUP re-reads it, to switch keys")
    .option('--relay-keys <file>', 'allow-list of relay keys, one "RELAY_ID rmpub1:… [rmpub1:…]" per line (a second key while the relay rotates): the relays admitted, each only under its id (needs --identity); SIGHUP re-reads it and revokes relays and keys taken off it')
    .option('--redis <url>', 'keep state in Redis (redis://[USER@]HOST:PORT/DB, or rediss:// for TLS) so a restarted or standby controller recovers it; default: in memory')
    .option('--redis-password-file <file>', 'read the Redis password (for USER in the URL, or the default user) from the first line of this file; keep it chmod 600')
    .option('--redis-prefix <prefix>', 'prefix of every Redis key, to share one Redis between meshes', 'relaymesh:')
    .addOption(new Option('--cost-policy <kind>', 'link cost: expected delay with a loss penalty, or hop count').choices(['latency-loss', 'hops']).default('latency-loss'))
    .option('--full-mesh-max <n>', 'up to this many relays every relay probes every other', String(DEFAULT_NEIGHBOUR_POLICY.fullMeshMax))
    .option('--nearest <n>', 'beyond that, each relay probes its n nearest by RTT…', String(DEFAULT_NEIGHBOUR_POLICY.nearest))
    .option('--random-links <n>', '…plus n random others, re-drawn every 30 s', String(DEFAULT_NEIGHBOUR_POLICY.random))
    .addOption(new Option('--advertise-allow <cidr>', 'a relay may advertise an address in this CIDR although its control connection comes from another address (NAT, private control network); repeatable')
      .argParser(collect).default([], 'only the address it connects from, or loopback from loopback'))
    .option('--no-address-check', "take a relay's register without first checking that its advertised address receives UDP (a nonce sent there, returned over the control channel; docs/security.md). Only for test clients that are not relays")
    .option('--relay-expiry <seconds>', 'forget a relay (registry, links, routes) after it has been disconnected this long', String(RELAY_EXPIRY_MS / 1000))
    .addHelpText('after', `
Examples:
  relaymesh keygen mesh.key
  relaymesh controller --control 127.0.0.1:7000 --http 127.0.0.1:8080 --mesh-key-file mesh.key
  relaymesh relay --id a --listen 127.0.0.1:7001 --controller 127.0.0.1:7000 --mesh-key-file mesh.key

High availability: run two controllers on one Redis (--redis). One holds the leadership lease and
pushes tables; the other stands by and takes over within about 2 s of the leader's death. Give
relays both addresses (--controller twice). SIGINT or SIGTERM stops the controller cleanly and
hands the lease over at once. Every Redis command fails after 750 ms (half the lease) without an
answer. docs/routing.md gives the Redis ACL user to create for the controllers.`)
    .action(async (opts: ControllerOptions) => {
      const log = loggerFor(opts)
      if (opts.meshKeyFile === undefined) throw new ConfigError('--mesh-key-file is required; for example --mesh-key-file mesh.key (create one with: relaymesh keygen mesh.key)')
      const control = parseHostPort(opts.control, '--control', true)
      const http = parseHostPort(opts.http, '--http', true)
      const meshKey = Buffer.from(await readMeshKeyFile(opts.meshKeyFile, log))
      if ((opts.identity === undefined) !== (opts.relayKeys === undefined)) {
        throw new ConfigError('--identity and --relay-keys go together: the controller proves its own key and admits the relays listed; give both, or neither for the mesh key alone')
      }
      const identity = opts.identity === undefined || opts.relayKeys === undefined
        ? undefined
        : { own: await readIdentityFile(opts.identity, log), relayKeys: await readAllowListFile(opts.relayKeys) }
      const readyFd = parseReadyFd(opts.readyFd)
      const policy = {
        fullMeshMax: count(opts.fullMeshMax, '--full-mesh-max', 100_000),
        nearest: count(opts.nearest, '--nearest', 1_000),
        random: count(opts.randomLinks, '--random-links', 1_000)
      }
      if (opts.redis !== undefined && !/^rediss?:\/\//.test(opts.redis)) throw new ConfigError(`--redis '${opts.redis}' is not a Redis URL; use redis://HOST:PORT, redis://HOST:PORT/DB or rediss://HOST:PORT (TLS)`)
      if (opts.redisPasswordFile !== undefined && opts.redis === undefined) throw new ConfigError('--redis-password-file needs --redis URL')
      if (opts.redis !== undefined && /^rediss?:\/\/[^/@]*:[^/@]*@/.test(opts.redis)) log.warn('--redis holds a password, which other users on this host can see in the process list; use --redis-password-file instead')
      if (!/^\d+(\.\d+)?$/.test(opts.relayExpiry) || Number(opts.relayExpiry) <= 0) {
        throw new ConfigError(`--relay-expiry '${opts.relayExpiry}' is not a positive number of seconds; for example --relay-expiry 60`)
      }
      const relayExpiryMs = Number(opts.relayExpiry) * 1000
      const advertiseAllow = opts.advertiseAllow
      new AdvertisePolicy(advertiseAllow) // eslint-disable-line no-new -- a bad CIDR fails here, before anything starts
      const password = opts.redisPasswordFile === undefined ? undefined : await readRedisPassword(opts.redisPasswordFile, log)
      // Half the lease: a Redis that stops answering fails a renewal well before the lease runs out.
      const store = await createStore({ clock: systemClock, redisUrl: opts.redis, prefix: opts.redisPrefix, password, commandTimeoutMs: LEASE_TTL_MS / 2 })
      const controller = new Controller({ clock: systemClock, logger: log, store }, {
        control, meshKey, identity, costPolicy: opts.costPolicy, neighbourPolicy: policy, advertiseAllow, relayExpiryMs, addressCheck: opts.addressCheck
      })
      const giveUp = async (err: unknown): Promise<never> => { await controller.stop(); await store.close(); throw err }
      await controller.start().catch(giveUp)
      // A failed listen stops the controller too: its QUIC socket would keep the process alive.
      const { server, bound } = await startControllerHttp(http, {
        topology: async (o) => await controller.topologyBodies(o),
        role: () => controller.role,
        ready: () => controller.ready,
        registry: controller.metrics.registry,
        log,
        page: webMapPage
      }).catch(giveUp)
      log.info({ http: bound }, 'controller HTTP API listening')
      writeReadyLine(readyFd, { control: controller.address, http: bound }, log)
      // SIGHUP re-reads the allow-list (relays taken off it are revoked) and --identity (the middle
      // step of a rotation of the controller's own key): docs/security.md.
      process.on('SIGHUP', () => {
        const path = opts.relayKeys
        if (path === undefined || opts.identity === undefined) { log.info('SIGHUP: nothing to reload (no --identity and --relay-keys)'); return }
        const idFile = opts.identity
        readAllowListFile(path).then(async (keys) => {
          const own = await readIdentityFile(idFile, log)
          controller.setIdentity(own)
          const revoked = controller.setRelayKeys(keys)
          log.info({ relays: keys.size, revoked, key: own.public.text.slice(0, 24) }, 'allow-list of relay keys reloaded')
        }).catch((err: Error) => { log.error({ err: err.message }, 'could not reload the allow-list of relay keys or the identity; the ones in force stay') })
      })
      await untilSignal(async () => {
        await closeHttp(server)
        await controller.stop()
        await store.close()
      }, log)
    })
}
