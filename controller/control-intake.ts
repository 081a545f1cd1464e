import type { Clock } from '../src/clock.js'
import {
  parseRelayMessage, type ControlLinkReport, type ControllerWireMessage, type RegisterMessage
} from '../src/control/messages.js'
import type { Logger } from '../src/logging.js'
import type { Channel } from '../src/transport/quic/types.js'
import { REGISTER_TIMEOUT_MS } from './constants.js'
import type { ControllerMetrics } from './metrics.js'

/** What the controller does with messages that passed the intake. */
export interface IntakeHandlers {
  register: (ch: Channel, m: RegisterMessage) => void
  /** The nonce of the UDP address check, sent back before the registration is taken. */
  address: (ch: Channel, nonce: string) => void
  /** Identity mode: a registered relay asks for relays' public keys. */
  wantKeys: (relay: string, ids: string[]) => void
  /** Whether the channel's register waits on its address check (its reports are dropped meanwhile). */
  checking: (ch: Channel) => boolean
  report: (relay: string, r: ControlLinkReport) => void
  /** A relay acknowledged table round `round` of `version`. */
  ack: (relay: string, version: number, round: number) => void
  /** A channel closed. */
  closed: (ch: Channel, info: { reason: string, initiator: string }) => void
}

/**
 * The controller's side of each control channel before its own logic: the register deadline,
 * parsing and validation (bad entries skipped and counted, a bad message refused), the check that
 * a message comes from the relay registered on that channel, and refusals. It never throws into the
 * channel's event handlers.
 */
export class ControlIntake {
  private readonly clock: Clock
  private readonly log: Logger
  private readonly metrics: ControllerMetrics
  /** The relay registered on a channel, if it is that relay's current channel. */
  private readonly registered: (ch: Channel) => string | undefined
  private readonly handlers: IntakeHandlers

  constructor (components: { clock: Clock, logger: Logger, metrics: ControllerMetrics, registered: (ch: Channel) => string | undefined }, handlers: IntakeHandlers) {
    this.clock = components.clock
    this.log = components.logger
    this.metrics = components.metrics
    this.registered = components.registered
    this.handlers = handlers
  }

  accept (ch: Channel): void {
    const deadline = this.clock.setTimeout(() => {
      // A register whose address is being checked came in time; the check has its own deadline.
      if (this.registered(ch) === undefined && !this.handlers.checking(ch)) this.refuse(ch, 'register_timeout', `no register message within ${REGISTER_TIMEOUT_MS} ms`)
    }, REGISTER_TIMEOUT_MS)
    ch.on('message', (raw) => { this.onMessage(ch, raw) })
    ch.on('close', (info) => {
      this.clock.clearTimer(deadline)
      this.handlers.closed(ch, info)
    })
  }

  /** Counts the refusal under `metric`, tells the relay why, and closes the channel. */
  refuse (ch: Channel, metric: string, reason: string): void {
    if (ch.isClosed) return
    this.metrics.refused.inc({ reason: metric })
    this.log.warn({ remote: ch.remote, reason }, 'control channel refused')
    sendQuietly(ch, { type: 'refuse', reason: reason.slice(0, 256) } satisfies ControllerWireMessage)
    void ch.close(reason.slice(0, 120))
  }

  private onMessage (ch: Channel, raw: unknown): void {
    if (ch.isClosed) return
    const p = parseRelayMessage(raw)
    if (!p.ok) { this.refuse(ch, 'invalid_message', `invalid control message: ${p.reason}`); return }
    const m = p.msg
    if (p.skipped.count > 0) {
      this.metrics.skipped.inc({ message: m.type }, p.skipped.count)
      this.log.warn({ remote: ch.remote, relayId: this.registered(ch), skipped: p.skipped.count, first: p.skipped.first }, 'invalid entries skipped in a control message')
    }
    if (m.type === 'register') { this.handlers.register(ch, m); return }
    if (m.type === 'address') { this.handlers.address(ch, m.nonce); return }
    const id = this.registered(ch)
    if (id === undefined) {
      // A relay reports as soon as its channel is up; while its address is being checked, that
      // is not a fault, and the next report comes within a second of the welcome.
      if (this.handlers.checking(ch)) return
      this.refuse(ch, 'not_registered', `${m.type} before register`)
      return
    }
    if (m.type === 'report') {
      if (m.report.relay !== id) { this.refuse(ch, 'wrong_relay', `report names relay '${m.report.relay}' but this connection is '${id}'`); return }
      this.handlers.report(id, m.report)
      return
    }
    if (m.type === 'want_keys') { this.handlers.wantKeys(id, m.ids); return }
    this.handlers.ack(id, m.version, m.round)
  }
}

/**
 * Sends without throwing: a channel that is closing rejects (or throws) on send, and a peer that
 * went away must never take the controller down with it. Returns false when the send was refused.
 */
export function sendQuietly (ch: Channel, msg: ControllerWireMessage, onError: (err: Error) => void = () => {}): boolean {
  try {
    ch.send(msg).catch(onError)
    return true
  } catch (err) {
    onError(err as Error)
    return false
  }
}
