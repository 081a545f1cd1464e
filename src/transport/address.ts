import { isIP } from 'node:net'
import { ConfigError } from '../errors.js'

export interface HostPort {
  host: string
  port: number
  family: 4 | 6
}

/**
 * Parses HOST:PORT, where HOST is an IPv4 literal or a bracketed IPv6 literal ([::1]:7000).
 * `what` names the flag or key in the error, e.g. "--listen".
 */
export function parseHostPort (text: string, what: string, allowPortZero = false): HostPort {
  const fail = (why: string): never => {
    throw new ConfigError(`${what} '${text}' ${why}; use IPv4 HOST:PORT such as 127.0.0.1:7000, or [::1]:7000 for IPv6`)
  }
  let host: string
  let portText: string
  if (text.startsWith('[')) {
    const close = text.indexOf(']')
    if (close < 0 || text[close + 1] !== ':') fail('is not [IPV6]:PORT')
    host = text.slice(1, close)
    portText = text.slice(close + 2)
  } else {
    const colon = text.lastIndexOf(':')
    if (colon < 0) fail('has no port')
    host = text.slice(0, colon)
    portText = text.slice(colon + 1)
  }
  const family = isIP(host)
  if (family === 0) fail(`has host '${host}', which is not an IP literal`)
  if (family === 6 && !text.startsWith('[')) fail('has an IPv6 host without brackets')
  if (!/^\d{1,5}$/.test(portText)) fail(`has port '${portText}', which is not a number`)
  const port = Number(portText)
  if (port > 65535 || (port === 0 && !allowPortZero)) fail(`has port ${port}, outside 1-65535`)
  return { host, port, family: family as 4 | 6 }
}

/** Why `text` is not a HOST:PORT parseHostPort admits (port 0 refused), or undefined when it is. */
export function hostPortError (text: string, what: string): string | undefined {
  try {
    parseHostPort(text, what)
    return undefined
  } catch (err) {
    return (err as Error).message
  }
}

export function formatHostPort (a: { host: string, port: number }): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`
}
