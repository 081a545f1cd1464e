import type { TopologyInput } from './topology-input.js'

/**
 * zlib level of the gzip'd body (route-thread.ts, topology-cache.ts): level 1 compresses the
 * body's repetitive JSON five- to sixfold (103 MB to 20 MB at 1,000 relays), at a fraction of
 * the cost of higher levels.
 */
export const TOPOLOGY_GZIP_LEVEL = 1

/**
 * Serializes a TopologyInput as the JSON document of GET /api/topology (docs/http-api.md), the
 * same document as JSON.stringify(snapshotOf(...)) (snapshot.ts) without building it as objects:
 * at 1,000 relays it holds a million routes, about 100 MB, and the object tree alone took 2 s to
 * build and 1.4 s to stringify. Here bytes are written straight into one buffer: each id is
 * quoted once, and route costs are written from their rounded thousandths.
 *
 * Pure and synchronous; meant for the route helper thread (route-thread.ts) on large meshes.
 */
export function topologyJson (t: TopologyInput): Uint8Array {
  const n = t.ids.length
  const quoted = t.ids.map((id) => Buffer.from(JSON.stringify(id)))
  const size = estimate(t, quoted)
  const w = new ByteWriter(size.head)
  w.ascii(`{"version":${JSON.stringify(t.version)},"relays":[`)
  for (let i = 0; i < n; i++) {
    w.ascii(i === 0 ? '{"id":' : ',{"id":')
    w.bytes(quoted[i])
    w.text(`,"address":${JSON.stringify(t.addresses[i])},"up":${t.relayUp[i] === 1 ? 'true' : 'false'}}`)
  }
  w.ascii('],"links":[')
  const l = t.links
  for (let i = 0; i < l.from.length; i++) {
    w.ascii(i === 0 ? '{"from":' : ',{"from":')
    w.bytes(quoted[l.from[i]])
    w.ascii(',"to":')
    w.bytes(quoted[l.to[i]])
    w.ascii(`,"rtt_ms":${ms(l.rttMs[i])},"jitter_ms":${ms(l.jitterMs[i])},"loss":${loss(l.loss[i])},"cost":${ms(l.cost[i])},"up":${l.up[i] === 1 ? 'true' : 'false'}}`)
  }
  w.ascii('],"routes":{')
  if (t.routes === undefined) {
    w.ascii('}}')
    return w.done()
  }
  const bySrc = writeRoutes(t.routes, quoted, size.routes)
  // Joined into one buffer of the exact size: "id":{routes} per source, commas between.
  let total = w.length + 2 + Math.max(0, n - 1)
  for (let u = 0; u < n; u++) total += quoted[u].length + 3 + bySrc[u].length
  const out = new Uint8Array(total)
  let p = 0
  const put = (b: Uint8Array): void => { out.set(b, p); p += b.length }
  put(w.view())
  for (let u = 0; u < n; u++) {
    if (u > 0) out[p++] = COMMA
    put(quoted[u])
    put(COLON_BRACE)
    put(bySrc[u].view())
    out[p++] = 0x7d
  }
  out[p++] = 0x7d
  out[p++] = 0x7d
  return out
}

/** Mirrors snapshot.ts: figures rounded to 1 µs and 1e-6 of loss, null when not finite. */
const ms = (x: number): string => (Number.isFinite(x) ? String(Math.round(x * 1000) / 1000) : 'null')
const loss = (x: number): string => (Number.isFinite(x) ? String(Math.round(x * 1e6) / 1e6) : 'null')

const NEXT_HOP = Buffer.from(':{"next_hop":')
const BACKUP = Buffer.from(',"backup":')
const NULL = Buffer.from('null')
const PATH = Buffer.from(',"path":[')
const COST = Buffer.from('],"cost":')
const COMMA = 0x2c
const COLON_BRACE = Buffer.from(':{')

/**
 * routes[src][dst] for every src in id order and every dst it reaches, as snapshot.ts builds them
 * (a next hop whose cost is not finite is no route; a path that does not reach dst is []).
 *
 * The tables are indexed [d * n + u], so this walks them a destination row at a time, where the
 * next hops a path follows are all in one row, and appends each route to its source's own writer;
 * the caller joins the writers in source order. Walking by source instead read the three
 * tables column-wise and chased paths across rows: a cache miss per read.
 */
function writeRoutes (r: NonNullable<TopologyInput['routes']>, quoted: Buffer[], routeBytes: number): ByteWriter[] {
  const n = quoted.length
  const { next, backup, dist } = r
  const path = new Int32Array(n + 1)
  const bySrc = Array.from({ length: n }, () => new ByteWriter(routeBytes / Math.max(1, n)))
  for (let d = 0; d < n; d++) {
    const base = d * n
    for (let u = 0; u < n; u++) {
      if (u === d) continue
      const hop = next[base + u]
      if (hop < 0) continue
      const k = Math.round(dist[base + u] * 1000)
      if (!Number.isFinite(k)) continue
      const o = bySrc[u]
      if (o.length > 0) o.byte(COMMA)
      o.bytes(quoted[d])
      o.bytes(NEXT_HOP)
      o.bytes(quoted[hop])
      o.bytes(BACKUP)
      const b = backup[base + u]
      o.bytes(b < 0 ? NULL : quoted[b])
      o.bytes(PATH)
      // Following next hops as MeshGraph.path does: [] when they loop or stop short of d.
      let len = 0
      for (let x = u; ; x = next[base + x]) {
        if (x < 0 || len > n) { len = 0; break }
        path[len++] = x
        if (x === d) break
      }
      for (let i = 0; i < len; i++) {
        if (i > 0) o.byte(COMMA)
        o.bytes(quoted[path[i]])
      }
      o.bytes(COST)
      o.thousandths(k)
      o.byte(0x7d)
    }
  }
  return bySrc
}

/** Generous guesses at the body's size without and with routes, so that buffers rarely grow. */
function estimate (t: TopologyInput, quoted: Buffer[]): { head: number, routes: number } {
  const n = quoted.length
  const idLen = n === 0 ? 0 : quoted.reduce((s, q) => s + q.length, 0) / n
  const relays = n * (60 + idLen * 2)
  const links = t.links.from.length * (120 + idLen * 2)
  // A route: its key, three ids, a path of a few hops and about 60 bytes of field names.
  const routes = t.routes === undefined ? 0 : n * n * (70 + idLen * 7)
  return { head: 1024 + relays + links, routes }
}


/** Appends bytes to a buffer that doubles when full. */
class ByteWriter {
  private buf: Buffer
  private pos = 0

  constructor (size: number) {
    this.buf = Buffer.allocUnsafeSlow(Math.max(1024, Math.ceil(size)))
  }

  get length (): number { return this.pos }

  private room (k: number): void {
    if (this.pos + k <= this.buf.length) return
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.pos + k))
    this.buf.copy(bigger, 0, 0, this.pos)
    this.buf = bigger
  }

  byte (b: number): void {
    this.room(1)
    this.buf[this.pos++] = b
  }

  bytes (src: Uint8Array): void {
    const k = src.length
    this.room(k)
    const buf = this.buf
    let p = this.pos
    // Ids are short: a loop beats a native copy's call overhead.
    if (k <= 32) for (let i = 0; i < k; i++) buf[p++] = src[i]
    else { buf.set(src, p); p += k }
    this.pos = p
  }

  /** A string known to be ASCII (field names, numbers). */
  ascii (s: string): void {
    this.room(s.length)
    this.pos += this.buf.write(s, this.pos, 'latin1')
  }

  /** Any string, as UTF-8. */
  text (s: string): void {
    this.room(Buffer.byteLength(s))
    this.pos += this.buf.write(s, this.pos, 'utf8')
  }

  /**
   * k / 1000 as JavaScript prints it: a rounded figure has at most three decimals, and the
   * shortest decimal that reads back as k / 1000 is k / 1000 itself.
   */
  thousandths (k: number): void {
    if (k < 0 || k > 0x7fffffff) { this.ascii(String(k / 1000)); return }
    this.room(16)
    const buf = this.buf
    const whole = Math.floor(k / 1000)
    let frac = k - whole * 1000
    let width = 1
    for (let x = whole; x >= 10; x = Math.floor(x / 10)) width++
    for (let i = width - 1, x = whole; i >= 0; i--, x = Math.floor(x / 10)) buf[this.pos + i] = 0x30 + (x % 10)
    this.pos += width
    if (frac === 0) return
    buf[this.pos++] = 0x2e
    let digits = 3
    while (frac % 10 === 0) { frac /= 10; digits-- }
    for (let i = digits - 1; i >= 0; i--, frac = Math.floor(frac / 10)) buf[this.pos + i] = 0x30 + (frac % 10)
    this.pos += digits
  }

  /** The bytes written so far, not copied. */
  view (): Uint8Array {
    return this.buf.subarray(0, this.pos)
  }

  /** The bytes written, in a buffer of their own size (which another thread can take over). */
  done (): Uint8Array {
    const out = new Uint8Array(this.pos)
    out.set(this.buf.subarray(0, this.pos))
    return out
  }
}
