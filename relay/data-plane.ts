import { addressCheckNonce } from '../src/control/address-check.js'
import { checkLinkTag, writeLinkTag } from '../src/wire/auth.js'
import { AEAD_TAG_LENGTH, Flag, HEADER_LENGTH, OFF_DEADLINE, OFF_DST, OFF_FLAGS, OFF_LENGTH, OFF_TTL, OFF_TYPE, PacketType, TAG_LENGTH } from '../src/wire/constants.js'
import { parseFeedback } from '../src/wire/feedback.js'
import { PacketHeader, parseHeader, u32, writeHop, writeSeal } from '../src/wire/header.js'
import { HELLO_ASK, helloKeys, helloPacket } from '../src/wire/hello.js'
import { pairKeys, type KeyBook, type PairKeys } from '../src/wire/keys.js'
import { Reason } from '../src/wire/reasons.js'
import { ReplayWindows, Seen, type SeqWindow } from '../src/wire/replay-window.js'
import { HELLO_ANSWER_MS, HELLO_RETRY_MS, HelloResult, MAX_PENDING, PeerSession } from '../src/wire/session.js'
import { forwardVerdict, Verdict } from './forward-verdict.js'
import type { RecoveryPlane } from './recovery/recovery-plane.js'
import { DataPlaneCounters } from './data-plane-counters.js'
import type { DataPlaneInit, LinkHandler, MeshSocket, NeighbourAddress, Route, PacketPath, ServiceHandler } from './types.js'

/** Direct HELLOs from senders without a session tried per second at most. */
const NEW_PEERS_PER_S = 200

/**
 * The per-packet path of wire v2 (docs/wire.md): parse; verify the tag of the link the datagram
 * came in on and check that link's window; in transit check TTL and route, then re-tag for the next
 * link and send; at the destination open the sealed payload, check the end-to-end window and
 * deliver. It also runs the sessions (src/wire/session.ts) whose keys all of that uses. All on the
 * buffer node:dgram handed us, with no await; the only allocations are the AEAD's, at the two ends.
 */
export class DataPlane implements PacketPath {
  readonly counters = new DataPlaneCounters()
  readonly self: number
  readonly boot: number
  private readonly keys: KeyBook
  private readonly socket: MeshSocket
  private readonly maxSendQueue: number
  private readonly nowMs: () => number
  private readonly h = new PacketHeader()
  private readonly scratch = new Int32Array(4)
  private readonly sessions = new Map<number, PeerSession>()
  /** Packets originated for relays the key book has no keys for yet, by destination. */
  private readonly keyWait = new Map<number, Buffer[]>()
  /** End-to-end windows per (source, boot), checked at every hop (forwardVerdict). */
  private readonly replay = new ReplayWindows()
  /** This relay's end-to-end sequence: one per boot, for every packet it originates. */
  private seqOut = 0
  private routes = new Map<number, Route>()
  private readonly services = new Map<number, ServiceHandler>()
  private linkHandler: LinkHandler | undefined
  /** Takes the nonce of a controller's UDP address check (controller mode). */
  addressCheck: ((nonce: Buffer) => void) | undefined
  private live = false
  /** Unknown senders of direct HELLOs tried in the current second (directHello). */
  private newPeers = 0
  private newPeerWindow = -Infinity
  /** Per-hop recovery (docs/recovery.md); undefined: off. */
  recovery: RecoveryPlane | undefined
  /** Test-only (RELAYMESH_TEST_CLEAR_PAYLOADS): send every payload unsealed, to show a capture test can fail. */
  clearPayloads = false

  constructor (keys: KeyBook, socket: MeshSocket, init: DataPlaneInit) {
    if (!Number.isInteger(init.boot) || init.boot <= 0 || init.boot > 0xffffffff) throw new TypeError(`boot id ${init.boot} must be a non-zero u32`)
    this.keys = keys
    this.socket = socket
    this.self = init.self
    this.boot = init.boot
    this.nowMs = init.nowMs ?? Date.now
    this.maxSendQueue = init.maxSendQueue ?? 1024
  }

  /** Replaces the forwarding table in one step. */
  setRoutes (routes: Iterable<Route>): void {
    const next = new Map<number, Route>()
    for (const r of routes) next.set(r.dst, r)
    this.routes = next
  }

  getRoute (dst: number): Route | undefined { return this.routes.get(dst) }

  registerService (service: number, handler: ServiceHandler): void {
    if (this.services.has(service)) throw new TypeError(`service ${service} is already registered`)
    this.services.set(service, handler)
  }

  unregisterService (service: number): void { this.services.delete(service) }

  setLinkHandler (handler: LinkHandler): void { this.linkHandler = handler }

  /** The neighbours whose link sessions to keep up; a new one is greeted at once. */
  setNeighbours (list: readonly NeighbourAddress[]): void {
    const now = new Set<number>()
    for (const n of list) {
      now.add(n.number)
      const s = this.session(n.number)
      if (s === undefined) continue
      s.host = n.host
      s.port = n.port
      s.neighbour = true
      if (s.current === undefined) this.sayHello(s)
    }
    for (const s of this.sessions.values()) if (!now.has(s.peer)) s.neighbour = false
  }

  /**
   * The key book changed (a relay admitted, revoked, or its keys rolled over; or, with `ownKey`,
   * our own key): sessions follow it. A relay no longer admitted, or no longer under the key its
   * session used, loses that session at once, so nothing of its is accepted on any link from here
   * on.
   */
  rekey (ownKey = false): void {
    for (const [peer, s] of this.sessions) {
      const secrets = this.keys.secrets(peer)
      if (secrets.length === 0) { this.sessions.delete(peer); continue }
      const before = s.keys
      const had = s.pairKeys.map((k) => k.secret)
      s.setSecrets(secrets, this.boot, this.nowMs(), ownKey)
      if (!(s.neighbour || s.current !== undefined)) continue
      if (s.keys !== before) this.sayHello(s)
      // The peer may have rolled its key over (a new one is admitted for it): ask, under each
      // key, so that its answer tells which one it uses now.
      else if (secrets.some((x) => !had.some((y) => y.equals(x)))) this.sayHello(s, false, false, true)
    }
  }

  /**
   * After keys arrived: packets waiting for a destination's keys go on (into its session's
   * handshake), and those for a relay that is not admitted are dropped as no_route.
   */
  releaseKeyWait (notAdmitted: Iterable<number> = []): void {
    for (const n of notAdmitted) {
      const waiting = this.keyWait.get(n)
      if (waiting === undefined) continue
      this.counters.dropped[Reason.NO_ROUTE] += waiting.length
      this.keyWait.delete(n)
    }
    for (const [dst, waiting] of this.keyWait) {
      const s = this.session(dst)
      if (s === undefined) continue
      this.keyWait.delete(dst)
      for (const buf of waiting) this.toSession(s, buf)
    }
  }

  /** The socket is bound: greet the neighbours. Nothing is sent before. */
  start (): void {
    this.live = true
    for (const s of this.sessions.values()) if (s.neighbour && s.current === undefined) this.sayHello(s)
  }

  /** Whether a session with `peer` is confirmed (tests, health). */
  hasSession (peer: number): boolean { return this.sessions.get(peer)?.current !== undefined }

  /** The session with `peer`, for inspection and for tests that craft packets; never on a hot path. */
  sessionWith (peer: number): PeerSession | undefined { return this.sessions.get(peer) }

  /** Called a few times a second: repeats HELLOs that got no answer. */
  tick (): void {
    const now = this.nowMs()
    for (const s of this.sessions.values()) {
      const unconfirmed = s.current === undefined || s.heard !== s.peerBoot
      if (unconfirmed && (s.neighbour || s.pending.length > 0) && now - s.lastHelloMs >= HELLO_RETRY_MS) this.sayHello(s)
    }
  }

  receive (buf: Buffer, fromHost: string, fromPort: number): void {
    const c = this.counters
    c.received++
    const h = this.h
    const r = parseHeader(buf, buf.length, h)
    if (r !== Reason.OK) {
      // Not mesh traffic: perhaps a controller's UDP address check (src/control/address-check.ts).
      if (r === Reason.BAD_VERSION && this.addressCheck !== undefined) {
        const nonce = addressCheckNonce(buf)
        if (nonce !== undefined) { this.addressCheck(nonce); return }
      }
      c.dropped[r]++
      return
    }
    if ((h.flags & Flag.STATIC_LINK) !== 0) { this.directHello(h, buf, fromHost, fromPort); return }
    const link = this.sessions.get(h.hop)
    const keys = link?.current
    let window = link?.linkWindow
    if (link === undefined || keys === undefined || !checkLinkTag(keys.linkRx, buf, this.scratch)) {
      // Sent before the peer saw our key roll over: the previous keys, with their own window.
      const prev = link?.previous
      if (prev !== undefined && prev.until > this.nowMs() && checkLinkTag(prev.keys.linkRx, buf, this.scratch)) {
        window = prev.linkWindow
      } else {
        c.dropped[Reason.BAD_AUTH]++
        // A neighbour that restarted, or lost our session: greet it (paced) so the link recovers.
        if (link !== undefined && link.host !== undefined) this.sayHello(link, true)
        return
      }
    }
    if ((window as SeqWindow).check(h.linkSeq) !== Seen.NEW) { c.dropped[Reason.REPLAY]++; return }
    const type = h.type
    const rec = this.recovery
    if (rec !== undefined) {
      rec.received(h.hop, h.linkSeq, type, h.trafficClass, this.nowMs())
      if (type === PacketType.FEEDBACK) { this.feedback(h, buf, rec); return }
    } else if (type === PacketType.FEEDBACK) {
      // From a neighbour that recovers per hop while this relay does not: nothing to serve it with.
      c.dropped[Reason.UNKNOWN_SERVICE]++
      return
    }
    if (type === PacketType.PROBE || type === PacketType.PROBE_ECHO) {
      if (h.src !== h.hop || h.dst !== this.self || this.linkHandler === undefined) { c.dropped[Reason.MALFORMED]++; return }
      this.linkHandler(h, buf, fromHost, fromPort)
      return
    }
    if (h.dst !== this.self) {
      const route = this.routes.get(h.dst)
      const v = forwardVerdict(this.self, h.src, h.dst, h.ttl, h.srcBoot, h.seq, this.replay, route !== undefined)
      if (v !== Verdict.FORWARD) { c.dropped[v]++; return }
      buf[OFF_TTL] = h.ttl - 1
      if (this.sendOn(route as Route, buf) === Reason.OK) c.forwarded++
      return
    }
    if (type === PacketType.HELLO) {
      if (this.replay.check(h.src, h.srcBoot, h.seq) !== Seen.NEW) { c.dropped[Reason.REPLAY]++; return }
      this.routedHello(h, buf)
      return
    }
    this.open(h, buf)
  }

  /** A neighbour's FEEDBACK on what it received from us: recovery sends the copies it asks for. */
  private feedback (h: PacketHeader, buf: Buffer, rec: RecoveryPlane): void {
    const fb = h.src === h.hop && h.dst === this.self ? parseFeedback(buf, h.payloadLength) : undefined
    if (fb === undefined) { this.counters.dropped[Reason.MALFORMED]++; return }
    rec.feedback(h.hop, fb, this.nowMs())
  }

  /**
   * Sends a copy for per-hop recovery on the link to `peer` under a new link sequence (recovery
   * never re-sends a datagram as it was: the next hop's link window would take it for a replay).
   * Returns that sequence, or undefined when the link has no session now.
   */
  resend (peer: number, buf: Buffer): number | undefined {
    const s = this.sessions.get(peer)
    if (s === undefined || s.current === undefined || s.host === undefined || s.port === undefined) return undefined
    const seq = s.linkSeqOut
    return this.transmit(s, buf, s.host, s.port, false) === Reason.OK ? seq : undefined
  }

  /** A DATA or CONTROL packet for this relay: check its session, open it, check its window, deliver. */
  private open (h: PacketHeader, buf: Buffer): void {
    const c = this.counters
    const s = this.sessions.get(h.src)
    const keys = s?.current
    if (s === undefined || keys === undefined || h.srcBoot !== s.peerBoot || h.dstBoot !== this.boot) {
      c.dropped[Reason.BAD_AUTH]++
      // Sealed for a session we do not have (we restarted, or the source did): greet the source.
      if (s !== undefined && !s.isClosed(h.srcBoot)) this.sayHello(s, true)
      else if (s === undefined) { const t = this.session(h.src); if (t !== undefined) this.sayHello(t, true) }
      return
    }
    if ((h.flags & Flag.CLEAR) === 0) {
      if (!keys.sealRx.open(buf, h.payloadLength) && (s.previous === undefined || s.previous.until <= this.nowMs() || !s.previous.keys.sealRx.open(buf, h.payloadLength))) { c.dropped[Reason.BAD_AUTH]++; return }
      h.payloadLength -= AEAD_TAG_LENGTH
    }
    const v = forwardVerdict(this.self, h.src, h.dst, h.ttl, h.srcBoot, h.seq, this.replay, false)
    if (v !== Verdict.DELIVER) { c.dropped[v]++; return }
    this.deliver(h, buf)
  }

  /**
   * Sends a packet this relay originates (built by Originator.begin, payload in place): seals it
   * for its destination and routes it, or delivers it here. Without a session to the destination
   * yet, it waits (up to MAX_PENDING per destination) while the HELLOs go.
   */
  originate (buf: Buffer): Reason {
    const c = this.counters
    c.originated++
    const h = this.h
    const r = parseHeader(buf, buf.length, h)
    if (r !== Reason.OK) throw new TypeError(`originate: malformed packet (${r})`)
    if (h.dst === this.self) {
      if (sealed(h.type, h.flags)) h.payloadLength -= AEAD_TAG_LENGTH
      this.deliver(h, buf)
      return Reason.OK
    }
    if (!this.routes.has(h.dst)) { c.dropped[Reason.NO_ROUTE]++; return Reason.NO_ROUTE }
    // The class's added-latency budget starts here; each hop passes on what is left (docs/recovery.md).
    if (this.recovery !== undefined && h.deadline === 0 && h.type === PacketType.DATA) {
      const budget = this.recovery.budgetFor(h.trafficClass)
      buf[OFF_DEADLINE] = budget >>> 8
      buf[OFF_DEADLINE + 1] = budget & 0xff
    }
    const s = this.session(h.dst)
    if (s === undefined) {
      // No keys for the destination yet (identity mode: asked for now): wait for them.
      let waiting = this.keyWait.get(h.dst)
      if (waiting === undefined) { waiting = []; this.keyWait.set(h.dst, waiting) }
      if (waiting.length >= MAX_PENDING) { c.dropped[Reason.QUEUE_FULL]++; return Reason.QUEUE_FULL }
      waiting.push(buf)
      return Reason.OK
    }
    return this.toSession(s, buf)
  }

  /** Seals and sends a packet for `s`'s peer, or holds it while the session's handshake runs. */
  private toSession (s: PeerSession, buf: Buffer): Reason {
    if (s.current !== undefined) return this.sealAndSend(s, buf)
    if (s.pending.length >= MAX_PENDING) { this.counters.dropped[Reason.QUEUE_FULL]++; return Reason.QUEUE_FULL }
    s.pending.push(buf)
    this.sayHello(s, true)
    return Reason.OK
  }

  private sealAndSend (s: PeerSession, buf: Buffer): Reason {
    const keys = s.current
    if (keys === undefined) return Reason.NO_ROUTE
    writeSeal(buf, this.boot, s.peerBoot, this.seqOut++)
    if (sealed(buf[OFF_TYPE], buf[OFF_FLAGS])) {
      if (this.clearPayloads) {
        const clearLength = buf.length - HEADER_LENGTH - TAG_LENGTH - AEAD_TAG_LENGTH
        buf[OFF_FLAGS] |= Flag.CLEAR
        buf[OFF_LENGTH] = clearLength >>> 8
        buf[OFF_LENGTH + 1] = clearLength & 0xff
        return this.forward(s.peer, buf.subarray(0, buf.length - AEAD_TAG_LENGTH))
      }
      keys.sealTx.seal(buf, buf.length - HEADER_LENGTH - TAG_LENGTH - AEAD_TAG_LENGTH)
    }
    return this.forward(s.peer, buf)
  }

  /**
   * Sends a link-local packet (probe, echo, feedback) to a neighbour, under the link's session: to
   * `host`:`port`, or to the address the session knows.
   */
  sendDirect (buf: Buffer, host?: string, port?: number): Reason {
    const s = this.sessions.get(u32(buf, OFF_DST))
    const keys = s?.current
    host ??= s?.host
    port ??= s?.port
    if (s === undefined || keys === undefined || host === undefined || port === undefined) {
      this.counters.dropped[Reason.NO_ROUTE]++
      if (s !== undefined) this.sayHello(s, true)
      return Reason.NO_ROUTE
    }
    writeSeal(buf, this.boot, s.peerBoot, this.seqOut++)
    return this.transmit(s, buf, host, port)
  }

  /** Counts a drop decided outside the data plane (tunnels, services). */
  countDrop (reason: Reason): void { this.counters.dropped[reason]++ }

  private forward (dst: number, buf: Buffer): Reason {
    const route = this.routes.get(dst)
    if (route === undefined) { this.counters.dropped[Reason.NO_ROUTE]++; return Reason.NO_ROUTE }
    return this.sendOn(route, buf)
  }

  /** Tags `buf` for the link to the route's next hop and sends it there. */
  private sendOn (route: Route, buf: Buffer): Reason {
    const hop = route.nextHop
    const s = this.sessions.get(hop.number) ?? this.session(hop.number)
    if (s === undefined || s.current === undefined) {
      this.counters.dropped[Reason.NO_ROUTE]++
      if (s !== undefined) this.sayHello(s, true)
      return Reason.NO_ROUTE
    }
    return this.transmit(s, buf, hop.host, hop.port)
  }

  /** Sends `buf` on the link to `s`'s peer; `keep`: recovery keeps it for a copy (not for copies, which recovery keeps itself). */
  private transmit (s: PeerSession, buf: Buffer, host: string, port: number, keep = true): Reason {
    if (this.socket.getSendQueueCount() >= this.maxSendQueue) { this.counters.dropped[Reason.QUEUE_FULL]++; return Reason.QUEUE_FULL }
    const seq = s.linkSeqOut++
    writeHop(buf, this.self, seq)
    writeLinkTag((s.current as NonNullable<PeerSession['current']>).linkTx, buf, this.scratch)
    this.socket.send(buf, port, host)
    if (keep && this.recovery !== undefined) this.recovery.sent(s.peer, seq, buf, this.nowMs())
    return Reason.OK
  }

  private deliver (h: PacketHeader, buf: Buffer): void {
    const handler = this.services.get(h.service)
    if (handler === undefined) { this.counters.dropped[Reason.UNKNOWN_SERVICE]++; return }
    const d = this.counters.delivered
    d.set(h.service, (d.get(h.service) ?? 0) + 1)
    handler(h, buf)
  }

  /** The session with `peer`, made when the key book admits it; undefined when it does not. */
  private session (peer: number): PeerSession | undefined {
    let s = this.sessions.get(peer)
    if (s === undefined) {
      if (peer === this.self || peer === 0) return undefined
      const secrets = this.keys.secrets(peer)
      if (secrets.length === 0) return undefined
      s = new PeerSession(this.self, peer, secrets)
      this.sessions.set(peer, s)
    }
    return s
  }

  /** A HELLO straight from a neighbour, tagged under the pair's static link key. */
  private directHello (h: PacketHeader, buf: Buffer, fromHost: string, fromPort: number): void {
    const c = this.counters
    if (h.type !== PacketType.HELLO || h.src !== h.hop || h.dst !== this.self || h.ttl !== 1) { c.dropped[Reason.MALFORMED]++; return }
    let s = this.sessions.get(h.src)
    let candidates = s?.pairKeys
    if (s === undefined) {
      // Nothing is kept for a sender before its HELLO verifies, and trying costs key
      // derivations: at most NEW_PEERS_PER_S unknown senders a second are tried.
      const now = this.nowMs()
      if (now - this.newPeerWindow >= 1000) { this.newPeerWindow = now; this.newPeers = 0 }
      const secrets = ++this.newPeers > NEW_PEERS_PER_S || h.src === this.self ? [] : this.keys.secrets(h.src)
      candidates = secrets.map((x) => pairKeys(x, this.self, h.src))
    }
    const k = helloKeys(candidates as readonly PairKeys[], buf, true, this.scratch)
    if (k === undefined) { c.dropped[Reason.BAD_AUTH]++; return }
    s = s ?? this.session(h.src)
    if (s === undefined) { c.dropped[Reason.BAD_AUTH]++; return }
    s.host = fromHost
    s.port = fromPort
    this.hello(s, k, h)
  }

  /** A HELLO that came over the mesh, under link sessions; its MAC is end to end. */
  private routedHello (h: PacketHeader, buf: Buffer): void {
    const s = this.session(h.src)
    const k = s === undefined ? undefined : helloKeys(s.pairKeys, buf, false, this.scratch)
    if (s === undefined || k === undefined) { this.counters.dropped[Reason.BAD_AUTH]++; return }
    this.hello(s, k, h)
  }

  private hello (s: PeerSession, k: PairKeys, h: PacketHeader): void {
    s.use(k, this.boot, this.nowMs())
    const result = s.hello(this.boot, h.srcBoot, h.dstBoot)
    if ((result & HelloResult.STALE) !== 0) { this.counters.dropped[Reason.REPLAY]++; return }
    if ((result & HelloResult.ANSWER) !== 0 || (h.flow & HELLO_ASK) !== 0) this.sayHello(s, false, true)
    if ((result & HelloResult.CONFIRMED) !== 0) {
      this.counters.sessions++
      // A new link session numbers its datagrams from 0 again.
      this.recovery?.reset(s.peer)
      const pending = s.pending
      s.pending = []
      for (const p of pending) this.sealAndSend(s, p)
      // A new link session may be the way to destinations still waiting for theirs.
      for (const t of this.sessions.values()) if (t !== s && t.current === undefined && t.pending.length > 0) this.sayHello(t)
    }
  }

  /**
   * Says HELLO to the peer: straight to its address when we have one (a neighbour), else over the
   * mesh. `paced` limits it to one per HELLO_RETRY_MS (triggered by traffic), `answer` to one per
   * HELLO_ANSWER_MS (an answer to the peer's). `probe` asks for an answer under every key the peer
   * may use.
   */
  private sayHello (s: PeerSession, paced = false, answer = false, probe = false): void {
    if (!this.live) return
    const now = this.nowMs()
    if (paced && now - s.lastHelloMs < HELLO_RETRY_MS) return
    if (answer && now - s.lastAnswerMs < HELLO_ANSWER_MS) return
    s.lastHelloMs = now
    if (answer) s.lastAnswerMs = now
    const route = this.routes.get(s.peer)
    if (s.host === undefined && route !== undefined && route.nextHop.number === s.peer) {
      s.host = route.nextHop.host
      s.port = route.nextHop.port
    }
    const direct = s.host !== undefined
    const fields = { self: this.self, peer: s.peer, boot: this.boot, echo: s.echo, seq: 0, ask: probe || s.current === undefined || s.heard !== s.peerBoot, direct, timestamp: now }
    // Before the first confirmation the peer may use any of its keys for us: try each.
    for (const k of s.current === undefined || probe ? s.pairKeys : [s.keys]) {
      fields.seq = this.seqOut++
      const buf = helloPacket(fields, k, this.scratch)
      if (direct) {
        if (this.socket.getSendQueueCount() >= this.maxSendQueue) { this.counters.dropped[Reason.QUEUE_FULL]++; return }
        this.socket.send(buf, s.port, s.host as string)
      } else if (route !== undefined) {
        this.sendOn(route, buf)
      }
    }
  }
}


/** DATA and CONTROL payloads are sealed unless flagged CLEAR. */
function sealed (type: number, flags: number): boolean {
  return (type === PacketType.DATA || type === PacketType.CONTROL) && (flags & Flag.CLEAR) === 0
}
