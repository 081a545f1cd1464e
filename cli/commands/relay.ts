import { Command, Option } from 'commander'
import { systemClock } from '../../src/clock.js'
import { ConfigError } from '../../src/errors.js'
import { readMeshKeyFile } from '../../src/mesh-key.js'
import { parseHostPort } from '../../src/transport/address.js'
import { checkRelayId } from '../../src/wire/relay-id.js'
import { MAX_PAYLOAD, OVERHEAD } from '../../src/wire/constants.js'
import { LinkEmulator } from '../../relay/link-emulator.js'
import { Relay } from '../../relay/relay.js'
import { loadStaticMesh } from '../../relay/static-mesh.js'
import { EgressPolicy } from '../../relay/tunnel/egress-policy.js'
import { parseTunnelSpec } from '../../relay/tunnel/spec.js'
import { DEFAULT_TUNNEL_LIMITS } from '../../relay/tunnel/types.js'
import { DEFAULT_FAST_INTERVAL_MS, DEFAULT_PROBE_INTERVAL_MS, DEFAULT_REPORT_INTERVAL_MS } from '../../prober/constants.js'
import { collect, loggerFor, untilSignal, withCommonOptions } from '../common.js'
import { hasNodeFlag, RELAY_SEMI_SPACE_MB, rerunWith, SEMI_SPACE_FLAG, endWithParent } from '../rerun.js'

interface RelayOptions {
  id?: string
  listen?: string
  static?: string
  controller: string[]
  advertise?: string
  stateFile?: string
  emulateLinks?: boolean
  meshKeyFile?: string
  http?: string
  tunnel: string[]
  egressAllow: string[]
  payloadBudget: string
  tunnelIdle: string
  tunnelMaxSessions: string
  probeInterval: string
  reportInterval: string
  logLevel: string
}

function positiveInt (text: string, flag: string, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) throw new ConfigError(`${flag} '${text}' is not a whole number from 1 to ${max}`)
  return Number(text)
}

export function relayCommand (): Command {
  return withCommonOptions(new Command('relay'))
    .description('run a relay daemon: forwards mesh packets, delivers them to local services, runs UDP tunnels')
    .addOption(new Option('--id <id>', 'this relay\'s id, as named in the mesh (letters, digits, . _ -)'))
    .addOption(new Option('--listen <host:port>', 'UDP address for all mesh traffic, e.g. 127.0.0.1:7001 or [::1]:7001'))
    .option('--controller <host:port>', 'QUIC address of a controller to follow; give it again for each standby', collect, [])
    .addOption(new Option('--static <file>', 'controller-less mode: read relays and links from this JSON file (docs/static-mesh.md)'))
    .addOption(new Option('--advertise <host:port>', 'the address other relays reach this relay at, when it differs from --listen (NAT, 0.0.0.0)'))
    .addOption(new Option('--state-file <file>', 'keep the last forwarding tables here, and start from them if no controller answers'))
    .addOption(new Option('--emulate-links', 'testing: accept POST /emulation/links on --http to impair what this relay sends to a peer (docs/simulation.md)'))
    .addOption(new Option('--mesh-key-file <file>', 'mesh key file (create one with: relaymesh keygen FILE)'))
    .addOption(new Option('--http <host:port>', 'serve /metrics and /healthz on this TCP address'))
    .option('--tunnel <spec>', 'LISTEN_HOST:PORT@DST_RELAY=TARGET_HOST:PORT: carry UDP arriving at LISTEN across the mesh to DST_RELAY, which sends it to TARGET; repeatable', collect, [])
    .option('--egress-allow <cidr[:ports]>', 'targets this relay may send tunnel traffic to, e.g. 10.0.0.0/8:5000-6000; repeatable (default: loopback only)', collect, [])
    .option('--payload-budget <bytes>', `largest datagram a tunnel carries; larger ones are dropped as too_big (max ${MAX_PAYLOAD - 19})`, String(DEFAULT_TUNNEL_LIMITS.payloadBudget))
    .option('--tunnel-idle <seconds>', 'forget a tunnel session after this long without traffic', String(DEFAULT_TUNNEL_LIMITS.idleMs / 1000))
    .option('--tunnel-max-sessions <n>', 'tunnel sessions per ingress tunnel, and egress sessions per relay', String(DEFAULT_TUNNEL_LIMITS.maxSessions))
    .option('--probe-interval <ms>', 'probe each neighbour this often (quick retries go faster while an echo is overdue)', String(DEFAULT_PROBE_INTERVAL_MS))
    .option('--report-interval <ms>', 'send a link report this often, and at once on a state change or threshold crossing', String(DEFAULT_REPORT_INTERVAL_MS))
    .addHelpText('after', `
Examples:
  relaymesh keygen mesh.key
  relaymesh relay --id a --listen 127.0.0.1:7001 --controller 127.0.0.1:7000 --mesh-key-file mesh.key \\
      --state-file a.state.json --tunnel 127.0.0.1:9000@c=127.0.0.1:5000 --http 127.0.0.1:9101
  relaymesh relay --id a --listen 127.0.0.1:7001 --static mesh.json --mesh-key-file mesh.key

With --controller the relay probes the neighbours the controller names, reports its links, and
forwards on the tables it pushes. If every controller goes away it keeps forwarding on the last
tables; when a next hop's link goes down it switches to the backup next hop at once.

Each packet costs ${OVERHEAD} bytes of header and tag on top of its payload. SIGINT or SIGTERM stops the relay cleanly.`)
    .action(async (opts: RelayOptions) => {
      // A small young generation keeps GC pauses short enough for forwarding (docs/performance.md).
      if (!hasNodeFlag(SEMI_SPACE_FLAG)) {
        process.exitCode = await rerunWith(`${SEMI_SPACE_FLAG}=${RELAY_SEMI_SPACE_MB}`, 'relaymesh relay')
        return
      }
      endWithParent()
      const log = loggerFor(opts)
      const need = (v: string | undefined, flag: string, example: string): string => {
        if (v === undefined || v === '') throw new ConfigError(`${flag} is required; for example ${flag} ${example}`)
        return v
      }
      const id = need(opts.id, '--id', 'a')
      checkRelayId(id)
      const listen = parseHostPort(need(opts.listen, '--listen', '127.0.0.1:7001'), '--listen', true)
      if ((opts.static === undefined) === (opts.controller.length === 0)) {
        throw new ConfigError('give either --controller HOST:PORT (repeatable) or --static FILE; for example --controller 127.0.0.1:7000')
      }
      const controllers = opts.controller.map((c) => parseHostPort(c, '--controller'))
      const advertise = opts.advertise === undefined ? undefined : parseHostPort(opts.advertise, '--advertise')
      const meshKey = await readMeshKeyFile(need(opts.meshKeyFile, '--mesh-key-file', 'mesh.key'))
      const http = opts.http === undefined ? undefined : parseHostPort(opts.http, '--http', true)
      const tunnels = opts.tunnel.map(parseTunnelSpec)
      const egressAllow = opts.egressAllow.length > 0 ? opts.egressAllow : undefined
      if (egressAllow !== undefined) new EgressPolicy(egressAllow) // eslint-disable-line no-new
      const limits = {
        payloadBudget: positiveInt(opts.payloadBudget, '--payload-budget', MAX_PAYLOAD - 19),
        idleMs: positiveInt(opts.tunnelIdle, '--tunnel-idle', 86400) * 1000,
        maxSessions: positiveInt(opts.tunnelMaxSessions, '--tunnel-max-sessions', 1_000_000)
      }
      const probeInterval = positiveInt(opts.probeInterval, '--probe-interval', 60_000)
      const reportIntervalMs = positiveInt(opts.reportInterval, '--report-interval', 3_600_000)
      if (advertise === undefined && controllers.length > 0 && (listen.host === '0.0.0.0' || listen.host === '::')) {
        throw new ConfigError(`--listen ${opts.listen ?? ''} is a wildcard address other relays cannot reach; add --advertise HOST:PORT`)
      }
      if (opts.emulateLinks === true && http === undefined) throw new ConfigError('--emulate-links needs --http HOST:PORT, where it takes its settings')
      const staticMesh = opts.static === undefined ? undefined : await loadStaticMesh(opts.static)
      const relay = new Relay({ clock: systemClock, logger: log }, {
        id, listen, meshKey, staticMesh, controllers: controllers.length > 0 ? controllers : undefined, advertise, stateFile: opts.stateFile, http,
        linkEmulator: opts.emulateLinks === true ? new LinkEmulator() : undefined, tunnels, egressAllow, tunnelLimits: limits,
        probe: { intervalMs: probeInterval, fastIntervalMs: Math.min(DEFAULT_FAST_INTERVAL_MS, probeInterval) },
        reportIntervalMs
      })
      await relay.start()
      await untilSignal(async () => { await relay.stop() }, log)
    })
}
