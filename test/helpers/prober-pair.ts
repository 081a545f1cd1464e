import assert from 'node:assert/strict'
import { Prober, type ProbeTransport } from '../../prober/prober.js'
import { microsOf } from '../../src/clock.js'
import { silentLogger } from '../../src/logging.js'
import { Originator, PacketHeader, Reason, Service, parseHeader, relayNumber } from '../../src/wire/index.js'
import { ManualClock } from './manual-clock.js'

export interface ProberPair {
  clock: ManualClock
  a: Prober
  b: Prober
  drops: Reason[]
}

/**
 * Two probers, a and b, joined by an in-memory link on a manual clock (no data plane, so no link
 * tags: the probers' own logic is under test). Each packet takes
 * `delayMs(now)` one way, decided when it is sent, unless `cut()` says the link is cut then;
 * `onSend` sees every packet sent.
 */
export function proberPair (opts: { delayMs: (now: number) => number, cut?: () => boolean, onSend?: (from: string, h: PacketHeader, now: number) => void }): ProberPair {
  const clock = new ManualClock()
  const drops: Reason[] = []
  const probers = new Map<string, Prober>()
  const make = (self: string, peer: string): Prober => {
    const o = new Originator({ src: relayNumber(self), boot: self === 'a' ? 1 : 2, micros: microsOf(clock) })
    const transport: ProbeTransport = {
      begin: (type, dst, len) => o.begin(type, dst, Service.LINK, 0, 0, 0, len, 1),
      send: (buf) => {
        const h = new PacketHeader()
        assert.equal(parseHeader(buf, buf.length, h), Reason.OK)
        opts.onSend?.(self, h, clock.now)
        if (opts.cut?.() === true) return
        clock.setTimeout(() => {
          probers.get(peer)?.handle(h, buf, '127.0.0.1', 1)
        }, opts.delayMs(clock.now))
      },
      countDrop: (r) => { drops.push(r) }
    }
    const p = new Prober({ clock, logger: silentLogger(), transport }, { neighbours: [{ id: peer, number: relayNumber(peer), host: '127.0.0.1', port: 1 }] })
    probers.set(self, p)
    return p
  }
  const a = make('a', 'b')
  const b = make('b', 'a')
  return { clock, a, b, drops }
}
