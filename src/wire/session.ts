import { pairKeys, sessionKeys, type PairKeys, type SessionKeys } from './keys.js'
import { SeqWindow } from './replay-window.js'

/** A session waiting for its peer's answer says HELLO again this often. */
export const HELLO_RETRY_MS = 1000
/** A relay answers one peer's HELLOs at most this often, so a flood of copies gets few answers. */
export const HELLO_ANSWER_MS = 10
/** Boot ids of a peer remembered as dead, so that nothing of theirs is accepted again. */
export const MAX_CLOSED_BOOTS = 64
/**
 * How long a session's previous keys (before a key rolled over) are still taken: long enough for
 * the peer to see our HELLO under the new key, short enough that a stolen old key soon opens
 * nothing.
 */
export const PREVIOUS_KEYS_MS = 10_000
/** Packets held for a destination while its session is being set up. */
export const MAX_PENDING = 256

/** What PeerSession.hello() found, as bits. */
export const HelloResult = {
  /** The peer's boot id is now confirmed: a new session, fresh keys and sequences. */
  CONFIRMED: 1,
  /** Say HELLO back: the peer does not yet know our boot id, or we just learned its. */
  ANSWER: 2,
  /** The HELLO names a boot of the peer's that has ended: ignored. */
  STALE: 4
} as const

/**
 * What one relay knows of one other (docs/wire.md, "Sessions"): the pair keys, the peer's boot id
 * once a HELLO that echoed ours confirmed it, and the keys, sequences and windows of the session
 * those two boots make. Pure: the data plane sends and receives for it.
 *
 * The handshake: each side says HELLO(its boot, the boot it heard from the peer). A side confirms
 * the peer's boot when a HELLO echoes its own current boot, which a copy captured before it
 * started cannot do. Confirming a new boot closes the old one for good, so a captured HELLO or
 * packet of an ended boot is never taken again, and a clock that stepped back changes nothing:
 * boot ids are random, not times.
 */
export class PeerSession {
  /** Pair keys this relay may share with the peer, the one in use first. */
  private candidates: PairKeys[]
  keys: PairKeys
  /** The peer's confirmed boot id; 0 until the first confirmation. */
  peerBoot = 0
  /** The boot id the peer last said HELLO with (confirmed or not); echoed in our HELLOs. */
  heard = 0
  /** Keys of the current session; undefined until a boot is confirmed. */
  current: SessionKeys | undefined
  /**
   * The session's keys before a key rolled over (same boots, another pair secret), with their own
   * link window: what the peer sent before it saw our HELLO under the new key is still taken, so
   * a rotation loses nothing. Taken until `until` (PREVIOUS_KEYS_MS), and dropped at once when the
   * peer's old key is no longer admitted, or at a new boot.
   */
  previous: { secret: Buffer, keys: SessionKeys, linkWindow: SeqWindow, until: number } | undefined
  linkSeqOut = 0
  linkWindow = new SeqWindow()
  /** The peer's address, when it is a neighbour or said HELLO straight to us. */
  host: string | undefined
  port = 0
  /** A neighbour: keep the session up even without traffic. */
  neighbour = false
  /** DATA originated for the peer while no session existed; sent when one is confirmed. */
  pending: Buffer[] = []
  lastHelloMs = -Infinity
  lastAnswerMs = -Infinity
  private readonly closed: number[] = []

  constructor (readonly self: number, readonly peer: number, secrets: readonly Buffer[]) {
    this.candidates = secrets.map((s) => pairKeys(s, self, peer))
    this.keys = this.candidates[0]
  }

  /** Pair keys to try on a HELLO, the one in use first. */
  get pairKeys (): readonly PairKeys[] { return this.candidates }

  /**
   * The keys were given anew; keeps the session when its secret is still among them. `ownKey`: our
   * own key rolled over, so the old secret is gone from our side only, and the peer may still send
   * under it for a moment; otherwise the peer's old key is no longer admitted, and nothing under it
   * is taken from here on.
   */
  setSecrets (secrets: readonly Buffer[], selfBoot: number, nowMs: number, ownKey = false): void {
    this.candidates = secrets.map((s) => pairKeys(s, this.self, this.peer))
    const prev = this.previous
    if (prev !== undefined && !this.candidates.some((k) => k.secret.equals(prev.secret))) this.previous = undefined
    const same = this.candidates.find((k) => k.secret.equals(this.keys.secret))
    if (same !== undefined) {
      this.keys = same
      return
    }
    this.use(this.candidates[0], selfBoot, nowMs, ownKey)
  }

  /** A HELLO verified under `keys`: those are the pair keys the peer uses now. */
  use (keys: PairKeys, selfBoot: number, nowMs: number, ownKey = false): void {
    if (keys === this.keys) return
    const old = this.current === undefined ? undefined : { secret: this.keys.secret, keys: this.current, linkWindow: this.linkWindow, until: nowMs + PREVIOUS_KEYS_MS }
    this.keys = keys
    if (this.peerBoot === 0) return
    this.start(selfBoot)
    // Same boots, another secret: the old keys still take what is already on its way, while the
    // old secret is still admitted (the peer rolled over, and we accept both) or it was ours.
    if (old !== undefined && (ownKey || this.candidates.some((k) => k.secret.equals(old.secret)))) this.previous = old
  }

  isClosed (boot: number): boolean { return this.closed.includes(boot) }

  /** Handles a HELLO(boot, echo) that authenticated; returns HelloResult bits. */
  hello (selfBoot: number, boot: number, echo: number): number {
    if (boot === 0 || this.isClosed(boot)) return HelloResult.STALE
    this.heard = boot
    let confirmed = false
    if (echo === selfBoot && boot !== this.peerBoot) {
      if (this.peerBoot !== 0) {
        this.closed.push(this.peerBoot)
        if (this.closed.length > MAX_CLOSED_BOOTS) this.closed.shift()
      }
      this.peerBoot = boot
      this.start(selfBoot)
      confirmed = true
    }
    const answer = confirmed || echo !== selfBoot
    return (confirmed ? HelloResult.CONFIRMED : 0) | (answer ? HelloResult.ANSWER : 0)
  }

  /** The boot id our HELLOs echo. */
  get echo (): number { return this.heard !== 0 ? this.heard : this.peerBoot }

  private start (selfBoot: number): void {
    this.current = sessionKeys(this.keys.secret, this.self, this.peer, selfBoot, this.peerBoot)
    this.previous = undefined
    this.linkSeqOut = 0
    this.linkWindow = new SeqWindow()
  }
}
