import { relayNumber } from '../../src/wire/relay-id.js'

/** One registered relay, as the controller core sees it. Its table is in InstalledTables. */
export interface RelayRecord {
  id: string
  /** Number in the core's RelayIndex. */
  index: number
  address: string
  boot: string
  caps: string[]
  /** The shell's connection it is registered on, or undefined while it is disconnected. */
  conn: number | undefined
  version: number
  /** The neighbour ids last sent, joined, to send only changes. */
  neighboursSent: string
  /**
   * This process of the relay has sent this controller a link report. Until it has, the graph may
   * not hold its links (a restarted controller), and it gets no table (route computation).
   */
  reported: boolean
  /** Monotonic ms when its connection closed (or it was restored from the store); undefined while live. */
  offlineSince: number | undefined
  /** relayNumber(id), kept to check collisions cheaply. */
  num: number
}

export type AdmitVerdict =
  | { ok: true, replaced: number | undefined }
  | { ok: false, reason: string }

/**
 * The registry of relays. Decides whether a register message may take an id: a second live
 * process claiming a registered id is refused; the same process (same boot token) reconnecting
 * replaces its old connection, which may not have timed out yet.
 */
export class Registry {
  private readonly byId = new Map<string, RelayRecord>()
  private readonly byConn = new Map<number, RelayRecord>()

  get (id: string): RelayRecord | undefined { return this.byId.get(id) }
  has (id: string): boolean { return this.byId.has(id) }
  /** The relay registered on connection `conn`, if that is its current connection. */
  ofConn (conn: number): RelayRecord | undefined { return this.byConn.get(conn) }
  all (): IterableIterator<RelayRecord> { return this.byId.values() }
  get size (): number { return this.byId.size }
  /** Relays with a live connection, in registration order. */
  live (): RelayRecord[] { return [...this.byId.values()].filter((s) => s.conn !== undefined) }
  get liveCount (): number { return this.byConn.size }

  admit (conn: number, m: { id: string, address: string, boot: string }): AdmitVerdict {
    const mine = this.byConn.get(conn)
    if (mine !== undefined && mine.id !== m.id) return { ok: false, reason: `this connection registered as '${mine.id}' and cannot become '${m.id}'` }
    const cur = this.byId.get(m.id)
    const curLive = cur?.conn !== undefined
    if (cur !== undefined && curLive && cur.conn !== conn && cur.boot !== m.boot) {
      return { ok: false, reason: `relay id '${m.id}' is already registered by a running relay at ${cur.address}; give this relay another --id` }
    }
    const num = relayNumber(m.id)
    for (const s of this.byId.values()) {
      if (s.id !== m.id && s.num === num) return { ok: false, reason: `relay id '${m.id}' hashes to the same relay number as registered relay '${s.id}'; rename one of them` }
      if (s.id !== m.id && s.address === m.address && s.conn !== undefined) {
        return { ok: false, reason: `address ${m.address} is already registered by relay '${s.id}'; each relay needs its own --advertise address` }
      }
    }
    return { ok: true, replaced: cur !== undefined && cur.conn !== conn && curLive ? cur.conn : undefined }
  }

  /** Records a register message that admit() let in. */
  register (conn: number, index: number, m: { id: string, address: string, boot: string, caps: string[], tableVersion: number }): RelayRecord {
    const cur = this.byId.get(m.id)
    if (cur?.conn !== undefined) this.byConn.delete(cur.conn)
    const s: RelayRecord = {
      id: m.id,
      index,
      address: m.address,
      boot: m.boot,
      caps: m.caps,
      conn,
      version: m.tableVersion,
      // A reconnecting relay may have missed neighbour updates: always resend.
      neighboursSent: '',
      reported: cur !== undefined && cur.boot === m.boot && cur.reported,
      offlineSince: undefined,
      num: cur?.num ?? relayNumber(m.id)
    }
    this.byId.set(m.id, s)
    this.byConn.set(conn, s)
    return s
  }

  /** Forgets a closed connection; the relay stays known, as offline since `now`. */
  disconnect (conn: number, now: number): RelayRecord | undefined {
    const s = this.byConn.get(conn)
    if (s === undefined) return undefined
    this.byConn.delete(conn)
    s.conn = undefined
    s.offlineSince = now
    return s
  }

  /** A relay known from the store before it reconnected to this controller; offline from `now`. */
  restore (id: string, index: number, address: string, caps: string[], now: number): void {
    if (this.byId.has(id)) return
    this.byId.set(id, { id, index, address, boot: '', caps, conn: undefined, version: 0, neighboursSent: '', reported: false, offlineSince: now, num: relayNumber(id) })
  }

  /** Forgets a relay, connected or not (revoked); returns what was known of it. */
  forget (id: string): RelayRecord | undefined {
    const s = this.byId.get(id)
    if (s === undefined) return undefined
    this.byId.delete(id)
    if (s.conn !== undefined) this.byConn.delete(s.conn)
    return s
  }

  /** Forgets relays offline for `maxOfflineMs` or longer at `now`, and returns them. */
  expire (now: number, maxOfflineMs: number): RelayRecord[] {
    const gone: RelayRecord[] = []
    for (const s of this.byId.values()) {
      if (s.conn !== undefined || s.offlineSince === undefined || now - s.offlineSince < maxOfflineMs) continue
      this.byId.delete(s.id)
      gone.push(s)
    }
    return gone
  }
}
