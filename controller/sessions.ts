import type { Channel } from '../src/transport/quic/types.js'
import type { RegisterMessage } from '../src/control/messages.js'
import { relayNumber } from '../src/wire/relay-id.js'
import type { DesiredEntry } from './rollout-plan.js'

/** One registered relay, as the controller sees it. */
export interface Session {
  id: string
  address: string
  boot: string
  caps: string[]
  /** The live channel, or undefined while the relay is disconnected. */
  channel: Channel | undefined
  /** What the relay forwards on now: its register message, then every round sent since. */
  installed: Map<string, DesiredEntry>
  version: number
  /** The neighbour ids last sent, joined, to send only changes. */
  neighboursSent: string
  /**
   * This process of the relay has sent this controller a link report. Until it has, the graph may
   * not hold its links (a restarted controller), and it gets no table (Controller.compute).
   */
  reported: boolean
  /** Monotonic ms when its channel closed (or it was restored from the store); undefined while live. */
  offlineSince: number | undefined
}

export type RegisterVerdict =
  | { ok: true, replaced: Channel | undefined }
  | { ok: false, reason: string }

/**
 * The registry of relays. Decides whether a register message may take an id: a second live
 * process claiming a registered id is refused; the same process (same boot token) reconnecting
 * replaces its old channel, which may not have timed out yet.
 */
export class Sessions {
  private readonly byId = new Map<string, Session>()
  private readonly byChannel = new Map<Channel, Session>()

  get (id: string): Session | undefined { return this.byId.get(id) }
  ofChannel (ch: Channel): Session | undefined { return this.byChannel.get(ch) }
  all (): IterableIterator<Session> { return this.byId.values() }
  get size (): number { return this.byId.size }
  /** Relays with a live channel. */
  live (): Session[] { return [...this.byId.values()].filter((s) => s.channel !== undefined && !s.channel.isClosed) }

  check (ch: Channel, m: RegisterMessage): RegisterVerdict {
    const mine = this.byChannel.get(ch)
    if (mine !== undefined && mine.id !== m.id) return { ok: false, reason: `this connection registered as '${mine.id}' and cannot become '${m.id}'` }
    const cur = this.byId.get(m.id)
    const curLive = cur?.channel !== undefined && !cur.channel.isClosed
    if (cur !== undefined && curLive && cur.channel !== ch && cur.boot !== m.boot) {
      return { ok: false, reason: `relay id '${m.id}' is already registered by a running relay at ${cur.address}; give this relay another --id` }
    }
    const num = relayNumber(m.id)
    for (const s of this.byId.values()) {
      if (s.id !== m.id && relayNumber(s.id) === num) return { ok: false, reason: `relay id '${m.id}' hashes to the same relay number as registered relay '${s.id}'; rename one of them` }
      if (s.id !== m.id && s.address === m.address && s.channel !== undefined && !s.channel.isClosed) {
        return { ok: false, reason: `address ${m.address} is already registered by relay '${s.id}'; each relay needs its own --advertise address` }
      }
    }
    return { ok: true, replaced: cur !== undefined && cur.channel !== ch && curLive ? cur.channel : undefined }
  }

  /** Records a register message that check() admitted. */
  register (ch: Channel, m: RegisterMessage): Session {
    const cur = this.byId.get(m.id)
    if (cur?.channel !== undefined) this.byChannel.delete(cur.channel)
    const s: Session = {
      id: m.id,
      address: m.address,
      boot: m.boot,
      caps: m.caps,
      channel: ch,
      installed: new Map(Object.entries(m.table).map(([d, e]) => [d, { nextHop: e.next_hop, backup: e.backup }])),
      version: m.table_version,
      // A reconnecting relay may have missed neighbour updates: always resend.
      neighboursSent: '',
      reported: cur !== undefined && cur.boot === m.boot && cur.reported,
      offlineSince: undefined
    }
    this.byId.set(m.id, s)
    this.byChannel.set(ch, s)
    return s
  }

  /** Forgets a closed channel; the relay stays known, as offline since `now`. Returns its session. */
  disconnect (ch: Channel, now: number): Session | undefined {
    const s = this.byChannel.get(ch)
    if (s === undefined) return undefined
    this.byChannel.delete(ch)
    if (s.channel === ch) {
      s.channel = undefined
      s.offlineSince = now
    }
    return s
  }

  /** A relay known from the store before it reconnected to this controller; offline from `now`. */
  restore (id: string, address: string, caps: string[], now: number): void {
    if (this.byId.has(id)) return
    this.byId.set(id, { id, address, boot: '', caps, channel: undefined, installed: new Map(), version: 0, neighboursSent: '', reported: false, offlineSince: now })
  }

  /** Forgets relays offline for `maxOfflineMs` or longer at `now`, and returns them. */
  expire (now: number, maxOfflineMs: number): Session[] {
    const gone: Session[] = []
    for (const s of this.byId.values()) {
      if (s.channel !== undefined || s.offlineSince === undefined || now - s.offlineSince < maxOfflineMs) continue
      this.byId.delete(s.id)
      gone.push(s)
    }
    return gone
  }
}
