import { ConfigError } from '../../src/errors.js'
import { parseHostPort, type HostPort } from '../../src/transport/address.js'
import { checkRelayId } from '../../src/wire/relay-id.js'

/** One --tunnel LISTEN_HOST:PORT@DST_RELAY=TARGET_HOST:PORT. */
export interface TunnelSpec {
  listen: HostPort
  dstRelay: string
  target: HostPort
  /** The spec as written, for logs. */
  text: string
}

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
  return {
    listen: parseHostPort(text.slice(0, at), `--tunnel '${text}' listen address`, true),
    dstRelay,
    target: parseHostPort(text.slice(eq + 1), `--tunnel '${text}' target`),
    text
  }
}
