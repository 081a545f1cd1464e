import { BlockList, isIP } from 'node:net'
import { ConfigError } from '../../src/errors.js'

interface Rule {
  list: BlockList
  /** Inclusive port ranges; empty means every port. */
  ports: Array<[number, number]>
  text: string
}

/** The default when no --egress-allow is given: loopback only, any port. */
export const DEFAULT_EGRESS_ALLOW = ['127.0.0.0/8', '[::1/128]']

/**
 * Which targets an egress relay may send tunnel traffic to. Without this, holding the mesh key
 * would turn every relay into an open UDP reflector.
 */
export class EgressPolicy {
  private readonly rules: Rule[]

  constructor (specs: string[] = DEFAULT_EGRESS_ALLOW) {
    this.rules = specs.map(parseRule)
  }

  allows (host: string, port: number): boolean {
    const family = isIP(host)
    if (family === 0) return false
    const type = family === 6 ? 'ipv6' : 'ipv4'
    for (const r of this.rules) {
      if (!r.list.check(host, type)) continue
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
  let cidr: string
  let portsText = ''
  if (text.startsWith('[')) {
    const close = text.indexOf(']')
    if (close < 0) fail('has no closing bracket')
    cidr = text.slice(1, close)
    const rest = text.slice(close + 1)
    if (rest !== '') {
      if (!rest.startsWith(':')) fail('has text after the bracket that is not :PORTS')
      portsText = rest.slice(1)
    }
  } else {
    const colon = text.indexOf(':')
    cidr = colon < 0 ? text : text.slice(0, colon)
    portsText = colon < 0 ? '' : text.slice(colon + 1)
  }
  const slash = cidr.indexOf('/')
  const addr = slash < 0 ? cidr : cidr.slice(0, slash)
  const family = isIP(addr)
  if (family === 0) fail(`has address '${addr}', which is not an IP literal`)
  const max = family === 6 ? 128 : 32
  const prefix = slash < 0 ? max : Number(cidr.slice(slash + 1))
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) fail(`has prefix length '${cidr.slice(slash + 1)}', outside 0-${max}`)
  const list = new BlockList()
  list.addSubnet(addr, prefix, family === 6 ? 'ipv6' : 'ipv4')
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
