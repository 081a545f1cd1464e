import { BlockList } from 'node:net'
import { networkInterfaces } from 'node:os'
import { ConfigError } from '../../src/errors.js'
import { addCidr, listHas, parseCidr, unmapHost, type Cidr } from './ip.js'

interface Rule {
  list: BlockList
  /** Inclusive port ranges; empty means every port. */
  ports: Array<[number, number]>
  text: string
}

/**
 * The ports the default allow-list opens: 49152-65535, the IANA dynamic and private range
 * (RFC 6335 §6), in which no service is ever registered. Loopback with every port would let
 * anyone holding the mesh key reach whatever listens on the egress host's loopback: a DNS
 * resolver (53), NTP (123), SNMP (161), memcached (11211), other relays and controllers. Put the
 * tunnel's target in this range, or name its address and port with --egress-allow.
 */
export const DEFAULT_EGRESS_PORTS = '49152-65535'

/** The default when no --egress-allow is given: loopback, dynamic ports only. */
export const DEFAULT_EGRESS_ALLOW = [`127.0.0.0/8:${DEFAULT_EGRESS_PORTS}`, `[::1/128]:${DEFAULT_EGRESS_PORTS}`]

/**
 * Targets refused whatever the allow-list says: an egress session is one socket connected to one
 * host, so unspecified (0.0.0.0/8, ::), multicast (224.0.0.0/4, ff00::/8), reserved and limited
 * broadcast (240.0.0.0/4) and directed broadcast addresses are never a tunnel target. A broadcast
 * target also makes connect() fail (EACCES); the egress handles that too, for broadcast addresses
 * of networks it cannot see from here.
 */
const ALWAYS_DENIED = ['0.0.0.0/8', '224.0.0.0/4', '240.0.0.0/4', '127.255.255.255/32', '::/128', 'ff00::/8']

function deniedList (): BlockList {
  const list = new BlockList()
  for (const text of ALWAYS_DENIED) addCidr(list, parseCidr(text) as Cidr)
  // The directed broadcast address of every IPv4 network this host is on.
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family !== 'IPv4') continue
      const ip = ipv4Number(a.address); const mask = ipv4Number(a.netmask)
      if (mask >>> 0 >= 0xfffffffe) continue // /31 and /32 have no broadcast address
      const b = (ip | ~mask) >>> 0
      list.addAddress(`${b >>> 24}.${(b >>> 16) & 255}.${(b >>> 8) & 255}.${b & 255}`, 'ipv4')
    }
  }
  return list
}

function ipv4Number (text: string): number {
  const p = text.split('.').map(Number)
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0
}

/**
 * Which targets an egress relay may send tunnel traffic to. Without this, holding the mesh key
 * would turn every relay into an open UDP reflector. Checked once per session, not per packet.
 */
export class EgressPolicy {
  private readonly rules: Rule[]
  private readonly denied = deniedList()

  constructor (specs: string[] = DEFAULT_EGRESS_ALLOW) {
    this.rules = specs.map(parseRule)
  }

  /** Whether `host` (an IP literal; IPv4-mapped IPv6 counts as its IPv4 address) and `port` may be a target. */
  allows (host: string, port: number): boolean {
    const a = unmapHost(host)
    if (a === undefined || port < 1 || port > 65535) return false
    if (listHas(this.denied, a)) return false
    for (const r of this.rules) {
      if (!listHas(r.list, a)) continue
      if (r.ports.length === 0) return true
      for (const [lo, hi] of r.ports) if (port >= lo && port <= hi) return true
    }
    return false
  }
}

/** Parses CIDR[:PORTS]: 10.0.0.0/8, 127.0.0.1/32:5000-5010, [fd00::/8]:443,8443. */
function parseRule (text: string): Rule {
  const fail = (why: string): never => {
    throw new ConfigError(`--egress-allow '${text}' ${why}; use CIDR[:PORTS] such as 10.0.0.0/8, 127.0.0.1/32:5000-5010 or [fd00::/8]:443,8443`)
  }
  let cidrText: string
  let portsText = ''
  if (text.startsWith('[')) {
    const close = text.indexOf(']')
    if (close < 0) fail('has no closing bracket')
    cidrText = text.slice(1, close)
    const rest = text.slice(close + 1)
    if (rest !== '') {
      if (!rest.startsWith(':')) fail('has text after the bracket that is not :PORTS')
      portsText = rest.slice(1)
    }
  } else {
    const colon = text.indexOf(':')
    cidrText = colon < 0 ? text : text.slice(0, colon)
    portsText = colon < 0 ? '' : text.slice(colon + 1)
  }
  const cidr = parseCidr(cidrText)
  if (typeof cidr === 'string') return fail(cidr)
  const list = new BlockList()
  addCidr(list, cidr)
  const ports: Array<[number, number]> = []
  if (portsText !== '') {
    for (const part of portsText.split(',')) {
      const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part)
      if (m === null) fail(`has port list '${portsText}', which is not N, N-M or a comma list of them`)
      const lo = Number(m?.[1]); const hi = Number(m?.[2] ?? m?.[1])
      if (lo < 1 || hi > 65535 || lo > hi) fail(`has port range '${part}', outside 1-65535 or reversed`)
      ports.push([lo, hi])
    }
  }
  return { list, ports, text }
}
