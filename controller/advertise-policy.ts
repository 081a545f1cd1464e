import { BlockList, isIP } from 'node:net'
import { ConfigError } from '../src/errors.js'
import { parseHostPort } from '../src/transport/address.js'

/**
 * Which addresses a relay may advertise. Every relay probes the addresses the controller hands
 * out, so a relay that could advertise any address could make the whole mesh send probes to a
 * third party (or to a service on every relay's own loopback). The rule:
 *
 * - the advertised host is the address the relay's control connection comes from (IPv4-mapped
 *   IPv6 counts as the IPv4 address it maps); or
 * - both are loopback (a mesh on one machine: the demo, the tests); or
 * - the advertised host is inside an `--advertise-allow CIDR` the operator gave, for relays whose
 *   control connection leaves from another address than the one they advertise (a relay behind a
 *   NAT that reaches the controller over a private network, a multi-homed host).
 *
 * A relay behind a NAT that reaches the controller over the same public address it advertises
 * passes the first rule unaided. `--advertise-allow 0.0.0.0/0 --advertise-allow ::/0` turns the
 * check off.
 */
export class AdvertisePolicy {
  private readonly allow = new BlockList()

  constructor (cidrs: string[] = []) {
    for (const c of cidrs) addCidr(this.allow, c)
  }

  /** Undefined when a relay connected from `source` may advertise `address`; else why not. */
  check (address: string, source: string): string | undefined {
    const host = canonicalIp(parseHostPort(address, 'advertised address').host)
    const from = canonicalIp(source)
    if (host === from) return undefined
    if (isLoopback(host) && isLoopback(from)) return undefined
    if (this.allow.check(host, isIP(host) === 6 ? 'ipv6' : 'ipv4')) return undefined
    return `advertised address ${address} is not the address this relay connects from (${from}); ` +
      'advertise the address the controller sees, or allow it with --advertise-allow CIDR on the controller'
  }
}

/** Parses an --advertise-allow CIDR: 203.0.113.0/24, fd00::/8, or one address. */
function addCidr (list: BlockList, text: string): void {
  const slash = text.indexOf('/')
  const addr = slash < 0 ? text : text.slice(0, slash)
  const family = isIP(addr)
  const max = family === 6 ? 128 : 32
  const prefixText = slash < 0 ? String(max) : text.slice(slash + 1)
  const prefix = Number(prefixText)
  if (family === 0 || !/^\d{1,3}$/.test(prefixText) || prefix > max) {
    throw new ConfigError(`--advertise-allow '${text}' is not a CIDR; use ADDRESS/PREFIX such as 203.0.113.0/24 or fd00::/8`)
  }
  list.addSubnet(addr, prefix, family === 6 ? 'ipv6' : 'ipv4')
}

/** One spelling per address: IPv6 compressed and lower-case, IPv4-mapped IPv6 as its IPv4. */
export function canonicalIp (host: string): string {
  if (isIP(host) !== 6) return host
  let h: string
  try {
    h = new URL(`http://[${host}]/`).hostname.slice(1, -1)
  } catch {
    return host.toLowerCase() // a zone id (fe80::1%eth0), which URL does not take
  }
  const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h)
  if (m === null) return h
  const hi = parseInt(m[1], 16)
  const lo = parseInt(m[2], 16)
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
}

function isLoopback (host: string): boolean {
  return host === '::1' || (isIP(host) === 4 && host.startsWith('127.'))
}
