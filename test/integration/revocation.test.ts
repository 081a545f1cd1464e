import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Identity } from '../../src/identity.js'
import type { HostPort } from '../../src/transport/address.js'
import { Reason } from '../../src/wire/reasons.js'
import { Flow, MeshHarness } from '../helpers/mesh-harness.js'

/**
 * Revoking a relay (docs/security.md) on the data plane: relays x, a and b on identities, x sending
 * a tunnel flow out at a. The controller takes x off its allow-list (what SIGHUP does). x keeps
 * running and keeps sending, as a stolen relay would; within 5 s no relay accepts a packet of its on
 * any link: the flow stops at the target, and a and b count x's packets as bad_auth.
 */
test('a revoked relay is cut off on every link within 5 s, while it keeps sending', { timeout: 180_000 }, async () => {
  const h = new MeshHarness()
  await h.init()
  const keys = new Map([['x', Identity.generate()], ['a', Identity.generate()], ['b', Identity.generate()]])
  h.identities = { own: Identity.generate(), relays: keys }
  const flow = new Flow()
  try {
    const c = await h.startController()
    const target = await flow.open()
    const x = await h.startRelay('x', { tunnels: [`127.0.0.1:0@a=127.0.0.1:${target.port}`] })
    const a = await h.startRelay('a')
    const b = await h.startRelay('b')
    await h.until('x routes to a and b', () => h.nextHop('x', 'a') !== undefined && h.nextHop('x', 'b') !== undefined, 60_000)
    flow.start(x.tunnels.ingress[0].bound as HostPort, 5)
    await h.until('the flow arrives', () => flow.received() > 50, 30_000)
    await h.until('x has sessions with a and b', () => x.plane.hasSession(a.number) && x.plane.hasSession(b.number), 30_000)

    const badAuth = (): number[] => [a, b].map((r) => r.plane.counters.dropped[Reason.BAD_AUTH])
    const before = badAuth()
    const t0 = performance.now()
    assert.deepEqual(c.setRelayKeys(new Map([...keys].filter(([id]) => id !== 'x').map(([id, k]) => [id, [k.public]]))), ['x'])
    // x keeps sending (its tunnel flow and its probes): a and b must refuse all of it.
    await h.until('a and b both refuse x\'s packets', () => badAuth().every((n, i) => n > before[i]), 10_000)
    const cutAt = performance.now()
    const arrivedBefore = flow.arrivals.length
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const last = flow.arrivals.at(-1)?.at ?? t0
    console.log(`revocation: refused on both links ${(cutAt - t0).toFixed(0)} ms after; last delivery ${(last - t0).toFixed(0)} ms after; ${flow.arrivals.length - arrivedBefore} after that`)
    assert.ok(last - t0 <= 5000, `x's flow still arrived ${(last - t0).toFixed(0)} ms after revocation`)
    assert.equal(flow.arrivals.length, arrivedBefore, 'nothing of x arrives once refused')
    assert.ok(!a.plane.hasSession(x.number) && !b.plane.hasSession(x.number), 'a and b hold no session with x')
    assert.ok(flow.sent > arrivedBefore + 100, 'x was still sending')
    assert.ok(a.plane.hasSession(b.number), 'a and b keep theirs')
  } finally {
    flow.close()
    await h.stop()
  }
})
