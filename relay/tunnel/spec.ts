import { ConfigError } from '../../src/errors.js'
import { parseHostPort, type HostPort } from '../../src/transport/address.js'
import { TrafficClass } from '../../src/wire/constants.js'
import { checkRelayId } from '../../src/wire/relay-id.js'

/** One --tunnel LISTEN_HOST:PORT@DST_RELAY=TARGET_HOST:PORT[,class=CLASS]. */
export interface TunnelSpec {
  listen: HostPort
  dstRelay: string
  target: HostPort
  /** Traffic class its packets go in (docs/recovery.md): bulk unless `class=` says otherwise. */
  trafficClass: number
  /** The spec as written, for logs. */
  text: string
}

const CLASSES: Record<string, number> = { bulk: TrafficClass.BULK, video: TrafficClass.VIDEO, audio: TrafficClass.AUDIO, signaling: TrafficClass.SIGNALING }

export function parseTunnelSpec (text: string): TunnelSpec {
  const at = text.indexOf('@')
  const eq = text.indexOf('=', at)
  if (at < 0 || eq < 0) {
    throw new ConfigError(`--tunnel '${text}' is not LISTEN_HOST:PORT@DST_RELAY=TARGET_HOST:PORT; for example 127.0.0.1:9000@c=127.0.0.1:5000`)
  }
  const dstRelay = text.slice(at + 1, eq)
  try {
    checkRelayId(dstRelay)
  } catch (err) {
    throw new ConfigError(`--tunnel '${text}': ${(err as Error).message}`)
  }
  const [target, ...options] = text.slice(eq + 1).split(',')
  let trafficClass: number = TrafficClass.BULK
  for (const o of options) {
    const [key, value] = o.split('=', 2)
    if (key === 'class' && value !== undefined && Object.hasOwn(CLASSES, value)) { trafficClass = CLASSES[value]; continue }
    if (key === 'class') throw new ConfigError(`--tunnel '${text}': class '${value ?? ''}' is not one of ${Object.keys(CLASSES).join(', ')}`)
    throw new ConfigError(`--tunnel '${text}': unknown option '${o}'; the one option is class=${Object.keys(CLASSES).join('|')}`)
  }
  return {
    listen: parseHostPort(text.slice(0, at), `--tunnel '${text}' listen address`, true),
    dstRelay,
    target: parseHostPort(target, `--tunnel '${text}' target`),
    trafficClass,
    text
  }
}
