import { Command, Option } from 'commander'
import { systemClock } from '../../src/clock.js'
import { readFile } from 'node:fs/promises'
import { ConfigError } from '../../src/errors.js'
import { PUBLIC_KEY_PREFIX, parsePublicKey, readIdentityFile, type Identity, type PublicIdentity } from '../../src/identity.js'
import type { Logger } from '../../src/logging.js'
import { readMeshKeyFile } from '../../src/mesh-key.js'
import { parseHostPort } from '../../src/transport/address.js'
import { checkRelayId } from '../../src/wire/relay-id.js'
import { OVERHEAD } from '../../src/wire/constants.js'
import { checkEmulationHttp, readTokenFile } from '../../relay/emulation-auth.js'
import { LinkEmulator } from '../../relay/link-emulator.js'
import { Relay } from '../../relay/relay.js'
import { loadStaticMesh } from '../../relay/static-mesh.js'
import { DEFAULT_EGRESS_PORTS, EgressPolicy } from '../../relay/tunnel/egress-policy.js'
import { allowSourceList } from '../../relay/tunnel/source-gate.js'
import { parseTunnelSpec } from '../../relay/tunnel/spec.js'
import { MAX_TUNNEL_DATAGRAM } from '../../relay/tunnel/framing.js'
import { DEFAULT_TUNNEL_LIMITS } from '../../relay/tunnel/types.js'
import { DEFAULT_FAST_INTERVAL_MS, DEFAULT_PROBE_INTERVAL_MS, DEFAULT_REPORT_INTERVAL_MS } from '../../prober/constants.js'
import { DEFAULT_AUDIO_BUDGET_MS, DEFAULT_VIDEO_BUDGET_MS, MAX_BUDGET_MS } from '../../relay/recovery/class-policy.js'
import { collect, loggerFor, parseReadyFd, untilSignal, withCommonOptions, withReadyFd, writeReadyLine } from '../common.js'
import { hasNodeFlag, RELAY_SEMI_SPACE_MB, rerunWith, SEMI_SPACE_FLAG, endWithParent } from '../rerun.js'

interface RelayOptions {
  id?: string
  listen?: string
  static?: string
  controller: string[]
  advertise?: string
  stateFile?: string
  emulateLinks?: boolean
  emulateLinksTokenFile?: string
  meshKeyFile?: string
  identity?: string
  controllerKey: string[]
  http?: string
  tunnel: string[]
  egressAllow: string[]
  tunnelAllowSource: string[]
  tunnelSourceRate: string
  tunnelEgressQuota: string
  payloadBudget: string
  tunnelIdle: string
  tunnelMaxSessions: string
  probeInterval: string
  reportInterval: string
  recovery: string
  audioBudget: string
  videoBudget: string
  readyFd?: string
  logLevel: string
}

/** --identity and one --controller-key per --controller, or neither (the mesh key authenticates the control channel). */
async function controlIdentity (opts: RelayOptions, controllers: number, log: Logger): Promise<{ own: Identity, controllerKeys: PublicIdentity[][] } | undefined> {
  if (opts.identity === undefined && opts.controllerKey.length === 0) return undefined
  if (opts.identity === undefined) throw new ConfigError('--controller-key needs --identity FILE, the key this relay proves itself with (relaymesh keygen --identity FILE)')
  if (controllers === 0) {
    // Static mode: the file's keys admit the relays (docs/static-mesh.md); there is no controller to pin.
    if (opts.controllerKey.length > 0) throw new ConfigError('--controller-key pins a controller; a static relay (--static) has none, so drop it')
    return { own: await readIdentityFile(opts.identity, log), controllerKeys: [] }
  }
  if (opts.controllerKey.length !== controllers) {
    throw new ConfigError(`--identity needs one --controller-key per --controller, in the same order: ${controllers} --controller, ${opts.controllerKey.length} --controller-key`)
  }
  return { own: await readIdentityFile(opts.identity, log), controllerKeys: await readControllerKeys(opts.controllerKey) }
}

/**
 * Each --controller-key: one or more public key lines (comma-separated), or a file holding one or
 * more (one a line; blank lines and # comments skipped). More than one while that controller's
 * key rolls over: any of them is accepted.
 */
async function readControllerKeys (values: string[]): Promise<PublicIdentity[][]> {
  const out: PublicIdentity[][] = []
  for (const [i, k] of values.entries()) {
    const text = k.startsWith(PUBLIC_KEY_PREFIX) ? k.replace(/,/g, '\n') : await readFile(k, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new ConfigError(`--controller-key '${k}' is neither a public key (${PUBLIC_KEY_PREFIX}…) nor a readable file: ${err.code ?? err.message}`)
    })
    const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
    if (lines.length === 0) throw new ConfigError(`--controller-key #${i + 1} ('${k}') holds no key; it takes a public key line (${PUBLIC_KEY_PREFIX}…) or a file of them`)
    out.push(lines.map((l) => parsePublicKey(l, `--controller-key #${i + 1}`)))
  }
  return out
}

function positiveInt (text: string, flag: string, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) throw new ConfigError(`${flag} '${text}' is not a whole number from 1 to ${max}`)
  return Number(text)
}

export function relayCommand (): Command {
  return withReadyFd(withCommonOptions(new Command('relay')))
    .description('run a relay daemon: forwards mesh packets, delivers them to local services, runs UDP tunnels')
    .addOption(new Option('--id <id>', 'this relay\'s id, as named in the mesh (letters, digits, . _ -)'))
    .addOption(new Option('--listen <host:port>', 'UDP address for all mesh traffic, e.g. 127.0.0.1:7001 or [::1]:7001'))
    .option('--controller <host:port>', 'QUIC address of a controller to follow; give it again for each standby', collect, [])
    .option('--identity <file>', "this relay's identity (relaymesh keygen --identity FILE): the control channel (with --controller-key) and the data plane run on it instead of the mesh key (docs/security.md); SIGHUP re-reads it, the --controller-key files and a --static file's keys")
    .option('--controller-key <key>', "the public key (rmpub1:…, or a file holding it, such as the controller's FILE.pub) the controller of the same position in --controller must prove; give it once per --controller. Several keys (comma-separated, or one a line in the file) while that controller's key rotates", collect, [])
    .addOption(new Option('--static <file>', 'controller-less mode: read relays and links from this JSON file (docs/static-mesh.md)'))
    .addOption(new Option('--advertise <host:port>', 'the address other relays reach this relay at, when it differs from --listen (NAT, 0.0.0.0)'))
    .addOption(new Option('--state-file <file>', 'keep the last forwarding tables here, and start from them if no controller answers'))
    .addOption(new Option('--emulate-links', 'testing: accept POST /emulation/links on a loopback --http to impair what this relay sends to a neighbour (docs/simulation.md)'))
    .addOption(new Option('--emulate-links-token-file <file>', 'with --emulate-links: the token POST /emulation/links must carry as Authorization: Bearer TOKEN (create one with: relaymesh keygen FILE)'))
    .addOption(new Option('--mesh-key-file <file>', 'mesh key file (create one with: relaymesh keygen FILE)'))
    .addOption(new Option('--http <host:port>', 'serve /metrics and /healthz ({"role": "relay", "ready": bool}) on this TCP address (to requests whose Host is this address; docs/http-api.md)'))
    .option('--tunnel <spec>', 'LISTEN_HOST:PORT@DST_RELAY=TARGET_HOST:PORT[,class=CLASS]: carry UDP arriving at LISTEN across the mesh to DST_RELAY, which sends it to TARGET, in traffic class bulk (default), video, audio or signaling (docs/recovery.md); repeatable', collect, [])
    .option('--egress-allow <cidr[:ports]>', `targets this relay may send tunnel traffic to, e.g. 10.0.0.0/8:5000-6000; repeatable; IPv4-mapped IPv6 targets match the IPv4 rules (default: loopback ports ${DEFAULT_EGRESS_PORTS} only; broadcast, multicast and unspecified targets are always refused)`, collect, [])
    .option('--tunnel-allow-source <cidr>', 'sender addresses this relay\'s tunnels accept datagrams from, e.g. 10.1.0.0/16; repeatable; others are dropped as egress_denied (default: loopback only)', collect, [])
    .option('--tunnel-source-rate <pps>', 'datagrams per second one sender address may put into this relay\'s tunnels, bursts up to one second\'s worth; more are dropped as queue_full; 0 for no limit', String(DEFAULT_TUNNEL_LIMITS.sourceRatePps))
    .option('--tunnel-egress-quota <n>', 'egress sessions one ingress relay may hold at this relay, so one exposed ingress cannot take them all', String(DEFAULT_TUNNEL_LIMITS.egressQuota))
    .option('--payload-budget <bytes>', `largest datagram a tunnel carries; larger ones are dropped as too_big (max ${MAX_TUNNEL_DATAGRAM})`, String(DEFAULT_TUNNEL_LIMITS.payloadBudget))
    .option('--tunnel-idle <seconds>', 'forget a tunnel session after this long without traffic', String(DEFAULT_TUNNEL_LIMITS.idleMs / 1000))
    .option('--tunnel-max-sessions <n>', 'tunnel sessions per ingress tunnel, and egress sessions per relay', String(DEFAULT_TUNNEL_LIMITS.maxSessions))
    .option('--probe-interval <ms>', 'probe each neighbour this often (quick retries go faster while an echo is overdue)', String(DEFAULT_PROBE_INTERVAL_MS))
    .option('--report-interval <ms>', 'send a link report this often, and at once on a state change or threshold crossing', String(DEFAULT_REPORT_INTERVAL_MS))
    .option('--recovery <on|off>', 'per-hop recovery of lost audio, video and signaling packets on this relay\'s links (docs/recovery.md)', 'on')
    .option('--audio-budget <ms>', 'latency an audio packet may gain being recovered, from its source on', String(DEFAULT_AUDIO_BUDGET_MS))
    .option('--video-budget <ms>', 'latency a video packet may gain being recovered, from its source on', String(DEFAULT_VIDEO_BUDGET_MS))
    .addHelpText('after', `
Examples:
  relaymesh keygen mesh.key
  relaymesh relay --id a --listen 127.0.0.1:7001 --controller 127.0.0.1:7000 --mesh-key-file mesh.key \\
      --state-file a.state.json --tunnel 127.0.0.1:9000@c=127.0.0.1:5000 --http 127.0.0.1:9101
  relaymesh relay --id a --listen 127.0.0.1:7001 --static mesh.json --mesh-key-file mesh.key
  relaymesh relay --id c --listen 127.0.0.1:7003 --static mesh.json --mesh-key-file mesh.key \\
      --egress-allow 127.0.0.1/32:5000

With --controller the relay probes the neighbours the controller names, reports its links, and
forwards on the tables it pushes. If every controller goes away it keeps forwarding on the last
tables; when a next hop's link goes down it switches to the backup next hop at once.

Tunnels (docs/tunnels.md): by default a tunnel takes datagrams only from loopback senders, at most
${DEFAULT_TUNNEL_LIMITS.sourceRatePps} per second per sender address, and an egress relay sends only to loopback ports
${DEFAULT_EGRESS_PORTS} (no registered service listens there), never to broadcast, multicast or
unspecified addresses.

--emulate-links (tests and simulations) serves POST /emulation/links only on a loopback --http, only
to requests carrying the --emulate-links-token-file token as Authorization: Bearer TOKEN with a JSON
body, and only for the relay's current neighbours; its delay lines hold at most 16 MiB, the rest is
dropped as queue_full (docs/simulation.md).

Each packet costs ${OVERHEAD} bytes of header and tag on top of its payload. SIGINT or SIGTERM stops the relay cleanly.`)
    .action(async (opts: RelayOptions) => {
      // A small young generation keeps GC pauses short enough for forwarding (docs/performance.md).
      if (!hasNodeFlag(SEMI_SPACE_FLAG)) {
        // The parent checks --ready-fd (a bad one fails here, once) and hands it to the child.
        const readyFd = parseReadyFd(opts.readyFd)
        process.exitCode = await rerunWith(`${SEMI_SPACE_FLAG}=${RELAY_SEMI_SPACE_MB}`, 'relaymesh relay', readyFd === undefined ? [] : [readyFd])
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
      const identity = await controlIdentity(opts, controllers.length, log)
      const meshKey = await readMeshKeyFile(need(opts.meshKeyFile, '--mesh-key-file', 'mesh.key'), log)
      const http = opts.http === undefined ? undefined : parseHostPort(opts.http, '--http', true)
      const tunnels = opts.tunnel.map(parseTunnelSpec)
      const egressAllow = opts.egressAllow.length > 0 ? opts.egressAllow : undefined
      if (egressAllow !== undefined) new EgressPolicy(egressAllow) // eslint-disable-line no-new
      const tunnelAllowSource = opts.tunnelAllowSource.length > 0 ? opts.tunnelAllowSource : undefined
      allowSourceList(tunnelAllowSource)
      const limits = {
        payloadBudget: positiveInt(opts.payloadBudget, '--payload-budget', MAX_TUNNEL_DATAGRAM),
        idleMs: positiveInt(opts.tunnelIdle, '--tunnel-idle', 86400) * 1000,
        maxSessions: positiveInt(opts.tunnelMaxSessions, '--tunnel-max-sessions', 1_000_000),
        sourceRatePps: opts.tunnelSourceRate === '0' ? 0 : positiveInt(opts.tunnelSourceRate, '--tunnel-source-rate', 10_000_000),
        egressQuota: positiveInt(opts.tunnelEgressQuota, '--tunnel-egress-quota', 1_000_000)
      }
      const probeInterval = positiveInt(opts.probeInterval, '--probe-interval', 60_000)
      const reportIntervalMs = positiveInt(opts.reportInterval, '--report-interval', 3_600_000)
      if (opts.recovery !== 'on' && opts.recovery !== 'off') throw new ConfigError(`--recovery '${opts.recovery}' is not on or off`)
      const budgets = { audioMs: positiveInt(opts.audioBudget, '--audio-budget', MAX_BUDGET_MS), videoMs: positiveInt(opts.videoBudget, '--video-budget', MAX_BUDGET_MS) }
      if (advertise === undefined && controllers.length > 0 && (listen.host === '0.0.0.0' || listen.host === '::')) {
        throw new ConfigError(`--listen ${opts.listen ?? ''} is a wildcard address other relays cannot reach; add --advertise HOST:PORT`)
      }
      let emulationToken: string | undefined
      if (opts.emulateLinks === true) {
        if (http === undefined) throw new ConfigError('--emulate-links needs --http 127.0.0.1:PORT, where it takes its settings')
        checkEmulationHttp(http)
        if (opts.emulateLinksTokenFile === undefined) throw new ConfigError('--emulate-links needs --emulate-links-token-file FILE; create one with: relaymesh keygen FILE')
        emulationToken = await readTokenFile(opts.emulateLinksTokenFile, '--emulate-links-token-file')
      } else if (opts.emulateLinksTokenFile !== undefined) {
        throw new ConfigError('--emulate-links-token-file is only for --emulate-links; add --emulate-links or drop the token file')
      }
      const readyFd = parseReadyFd(opts.readyFd)
      const staticMesh = opts.static === undefined ? undefined : await loadStaticMesh(opts.static)
      const relay = new Relay({ clock: systemClock, logger: log }, {
        id, listen, meshKey, staticMesh, controllers: controllers.length > 0 ? controllers : undefined, identity, advertise, stateFile: opts.stateFile, http,
        linkEmulator: opts.emulateLinks === true ? new LinkEmulator() : undefined, emulationToken, tunnels, egressAllow, tunnelAllowSource, tunnelLimits: limits,
        probe: { intervalMs: probeInterval, fastIntervalMs: Math.min(DEFAULT_FAST_INTERVAL_MS, probeInterval) },
        reportIntervalMs,
        recovery: opts.recovery === 'off' ? false : { budgets }
      })
      await relay.start()
      writeReadyLine(readyFd, {
        listen: relay.address, http: relay.httpAddress, tunnels: relay.tunnels.ingress.map((t) => ({ spec: t.spec.text, listen: t.bound }))
      }, log)
      // SIGHUP re-reads --identity (the middle step of a key rotation, docs/security.md), the
      // --controller-key files (a controller's key rotation) and, for a static relay on
      // identities, the static mesh file's keys (rotation and revocation).
      process.on('SIGHUP', () => {
        const path = opts.identity
        if (path === undefined || identity === undefined) { log.info('SIGHUP: nothing to reload (no --identity)'); return }
        readIdentityFile(path, log).then(async (own) => {
          const pins = controllers.length > 0 ? await readControllerKeys(opts.controllerKey) : undefined
          const samePins = (a: PublicIdentity[][], b: PublicIdentity[][]): boolean =>
            a.length === b.length && a.every((ks, i) => ks.length === b[i].length && ks.every((k, j) => k.equals(b[i][j])))
          if (pins !== undefined && !samePins(pins, identity.controllerKeys)) {
            identity.controllerKeys = pins
            relay.setControllerKeys(pins)
          }
          if (!own.public.equals(identity.own.public)) {
            identity.own = own
            relay.setIdentity(own)
          }
          if (opts.static !== undefined) relay.setStaticKeys(await loadStaticMesh(opts.static))
          log.info({ static: opts.static }, 'identity and keys reloaded')
        }).catch((err: Error) => {
          log.error({ err: err.message }, 'could not reload the identity or the static mesh file; the keys in force stay')
        })
      })
      await untilSignal(async () => { await relay.stop() }, log)
    })
}
