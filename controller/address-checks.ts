import { randomBytes } from 'node:crypto'
import dgram from 'node:dgram'
import type { Clock, Timer } from '../src/clock.js'
import { addressCheckDatagram, ADDRESS_NONCE_BYTES } from '../src/control/address-check.js'
import type { RegisterMessage } from '../src/control/messages.js'
import type { Logger } from '../src/logging.js'
import { parseHostPort } from '../src/transport/address.js'
import type { Channel } from '../src/transport/quic/types.js'

/** The check datagram is sent again after this long, then after twice as long each time (a lossy path). */
export const ADDRESS_CHECK_RESEND_MS = 250
/** Resends are at most this far apart. */
const ADDRESS_CHECK_RESEND_MAX_MS = 2_000
/**
 * A relay whose address has not answered in this long is refused. Generous: a controller busy with
 * a thousand relays joining answers late, and refusing then only brings them back to join again.
 */
export const ADDRESS_CHECK_TIMEOUT_MS = 10_000

interface Pending { nonce: string, m: RegisterMessage, timer: Timer | undefined, started: number }

/**
 * The controller's side of the UDP address check (src/control/address-check.ts): a register is
 * held until the relay returns the nonce sent to its advertised address, then passed on. One UDP
 * socket per address family, bound to the wildcard address on a port the system picks.
 */
export class AddressChecks {
  private readonly pending = new Map<Channel, Pending>()
  private readonly sockets = new Map<4 | 6, dgram.Socket>()
  private readonly clock: Clock
  private readonly log: Logger

  constructor (components: { clock: Clock, logger: Logger }, private readonly handlers: {
    proven: (ch: Channel, m: RegisterMessage) => void
    failed: (ch: Channel, m: RegisterMessage, why: string) => void
  }) {
    this.clock = components.clock
    this.log = components.logger
  }

  /** Starts (or restarts) the check of `m.address` for the relay on `ch`. */
  begin (ch: Channel, m: RegisterMessage): void {
    this.drop(ch)
    const nonce = randomBytes(ADDRESS_NONCE_BYTES)
    const datagram = addressCheckDatagram(nonce)
    const to = parseHostPort(m.address, 'advertised address')
    const socket = this.socket(to.family)
    const send = (): void => {
      try {
        socket.send(datagram, to.port, to.host)
      } catch (err) {
        this.log.debug({ relayId: m.id, err: (err as Error).message }, 'address check send failed')
      }
    }
    const started = this.clock.monoMs()
    const p: Pending = { nonce: nonce.toString('base64'), m, started, timer: undefined }
    const next = (wait: number): void => {
      p.timer = this.clock.setTimeout(() => {
        if (this.clock.monoMs() - started >= ADDRESS_CHECK_TIMEOUT_MS) {
          this.drop(ch)
          this.handlers.failed(ch, m, `no answer from ${m.address} to the UDP address check in ${ADDRESS_CHECK_TIMEOUT_MS} ms; advertise an address at which this relay's --listen socket receives UDP from the controller's host (docs/security.md)`)
          return
        }
        send()
        next(Math.min(wait * 2, ADDRESS_CHECK_RESEND_MAX_MS, Math.max(1, started + ADDRESS_CHECK_TIMEOUT_MS - this.clock.monoMs())))
      }, wait)
    }
    this.pending.set(ch, p)
    send()
    next(ADDRESS_CHECK_RESEND_MS)
  }

  /** The relay on `ch` sent a nonce back. A wrong one is ignored: the check goes on to its deadline. */
  answer (ch: Channel, nonce: string): void {
    const p = this.pending.get(ch)
    if (p === undefined || p.nonce !== nonce) return
    this.drop(ch)
    this.handlers.proven(ch, p.m)
  }

  /** Whether a check is under way on `ch`. */
  has (ch: Channel): boolean { return this.pending.has(ch) }

  /** Forgets the check on `ch` (the channel closed, or the check ended). */
  drop (ch: Channel): void {
    const p = this.pending.get(ch)
    if (p === undefined) return
    if (p.timer !== undefined) this.clock.clearTimer(p.timer)
    this.pending.delete(ch)
  }

  stop (): void {
    for (const ch of [...this.pending.keys()]) this.drop(ch)
    for (const s of this.sockets.values()) s.close()
    this.sockets.clear()
  }

  private socket (family: 4 | 6): dgram.Socket {
    let s = this.sockets.get(family)
    if (s === undefined) {
      s = dgram.createSocket(family === 6 ? 'udp6' : 'udp4')
      s.on('error', (err) => { this.log.warn({ err: err.message }, 'address check socket error') })
      s.bind(0)
      s.unref()
      this.sockets.set(family, s)
    }
    return s
  }
}
