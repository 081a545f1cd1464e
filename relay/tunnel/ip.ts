import { BlockList, isIP } from 'node:net'

/**
 * IP address helpers for the tunnel's allow-lists. An IPv4-mapped IPv6 address (::ffff:a.b.c.d)
 * is the IPv4 address it maps to, everywhere: a rule written for 127.0.0.0/8 covers
 * ::ffff:127.0.0.1, and a mapped rule covers the plain IPv4 address. Otherwise a dual-stack
 * socket would let a sender (or a target) slip past the IPv4 rules by writing its address in v6.
 */

/** A literal's 16 bytes (IPv6, including a dotted IPv4 tail), or undefined when it is not IPv6. */
export function ipv6Bytes (host: string): Buffer | undefined {
  if (isIP(host) !== 6) return undefined
  let text = host
  const tail: number[] = []
  const lastColon = text.lastIndexOf(':')
  if (text.includes('.', lastColon)) {
    for (const part of text.slice(lastColon + 1).split('.')) tail.push(Number(part))
    text = text.slice(0, lastColon + 1) + '0:0'
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined]
  const parse = (s: string | undefined): number[] => (s === undefined || s === '' ? [] : s.split(':').map((x) => parseInt(x, 16)))
  const h = parse(head); const t = parse(rest)
  const words = rest === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t]
  const b = Buffer.alloc(16)
  words.forEach((w, i) => b.writeUInt16BE(w, i * 2))
  if (tail.length === 4) for (let i = 0; i < 4; i++) b[12 + i] = tail[i]
  return b
}

/** True when bytes [off, off+16) are an IPv4-mapped IPv6 address (::ffff:0:0/96). */
export function isMappedV4 (b: Uint8Array, off = 0): boolean {
  for (let i = 0; i < 10; i++) if (b[off + i] !== 0) return false
  return b[off + 10] === 0xff && b[off + 11] === 0xff
}

/** An IP literal in canonical form for rule checks: mapped IPv6 becomes IPv4. */
export function unmapHost (host: string): { host: string, family: 4 | 6 } | undefined {
  const family = isIP(host)
  if (family === 4) return { host, family }
  if (family !== 6) return undefined
  const b = ipv6Bytes(host) as Buffer
  if (isMappedV4(b)) return { host: `${b[12]}.${b[13]}.${b[14]}.${b[15]}`, family: 4 }
  return { host, family: 6 }
}

export interface Cidr {
  host: string
  prefix: number
  family: 4 | 6
}

/**
 * Parses ADDR[/PREFIX] (a bare address is a host route), v6 with or without brackets. A mapped
 * IPv6 prefix of 96 bits or more becomes the IPv4 prefix it covers. Returns why on failure.
 */
export function parseCidr (text: string): Cidr | string {
  let t = text
  if (t.startsWith('[')) {
    if (!t.endsWith(']')) return 'has no closing bracket'
    t = t.slice(1, -1)
  }
  const slash = t.indexOf('/')
  const addr = slash < 0 ? t : t.slice(0, slash)
  const family = isIP(addr)
  if (family === 0) return `has address '${addr}', which is not an IP literal`
  const max = family === 6 ? 128 : 32
  const prefixText = slash < 0 ? String(max) : t.slice(slash + 1)
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN
  if (!(prefix >= 0 && prefix <= max)) return `has prefix length '${prefixText}', outside 0-${max}`
  if (family === 6) {
    const b = ipv6Bytes(addr) as Buffer
    if (prefix >= 96 && isMappedV4(b)) return { host: `${b[12]}.${b[13]}.${b[14]}.${b[15]}`, prefix: prefix - 96, family: 4 }
  }
  return { host: addr, prefix, family: family as 4 | 6 }
}

export function addCidr (list: BlockList, c: Cidr): void {
  list.addSubnet(c.host, c.prefix, c.family === 6 ? 'ipv6' : 'ipv4')
}

/** Checks an already unmapped address against a list. */
export function listHas (list: BlockList, a: { host: string, family: 4 | 6 }): boolean {
  return list.check(a.host, a.family === 6 ? 'ipv6' : 'ipv4')
}
