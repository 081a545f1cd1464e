import type { QUICConnection } from '@matrixai/quic'
import type { Clock, Timer } from '../../clock.js'

/** How often, as a share of the keepalive interval, the channel checks whether it has been silent. */
export const KEEPALIVE_CHECKS_PER_INTERVAL = 4

/** The library internals a keepalive PING needs: quiche's connection, and the connection's flush. */
interface PingInternals { conn?: { sendAckEliciting?: () => void }, send?: () => Promise<void> }

/**
 * A keepalive that pings only a silent connection. @matrixai/quic's own keepalive sends a PING
 * every interval whatever else was sent, and each PING costs the peer a packet in and an ACK out:
 * a relay reporting every second with a 2 s keepalive sent a third of its packets as PINGs, and
 * 1,000 relays made the controller pay for them all. This one checks KEEPALIVE_CHECKS_PER_INTERVAL
 * times an interval and pings when nothing has been sent for `intervalMs`, so the longest silence
 * is 5/4 of the interval (quic-config.ts keeps that under the idle timeout).
 *
 * Returns a stop function, or undefined when the connection lacks the internals (another library
 * version): the caller then has no keepalive and should say so.
 */
export function startIdleKeepalive (conn: QUICConnection, intervalMs: number, clock: Clock, lastSentMs: () => number): (() => void) | undefined {
  const lib = conn as unknown as PingInternals
  const quiche = lib.conn
  if (typeof quiche?.sendAckEliciting !== 'function' || typeof lib.send !== 'function') return undefined
  let lastPingMs = clock.monoMs()
  const ping = (): void => {
    const now = clock.monoMs()
    if (now - Math.max(lastSentMs(), lastPingMs) < intervalMs) return
    lastPingMs = now
    try {
      quiche.sendAckEliciting?.()
      // A connection that stopped meanwhile refuses; its channel is closing anyway.
      lib.send?.call(conn).catch(() => {})
    } catch {}
  }
  const timer: Timer = clock.setInterval(ping, Math.max(1, Math.floor(intervalMs / KEEPALIVE_CHECKS_PER_INTERVAL)))
  timer.unref?.()
  return () => { clock.clearTimer(timer) }
}
