import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Identity } from '../../src/identity.js'
import type { HostPort } from '../../src/transport/address.js'
import type { Controller } from '../../controller/controller.js'
import type { Relay } from '../../relay/relay.js'
import { IdentityKeyBook } from '../../src/wire/keys.js'
import { Flow, MeshHarness } from '../helpers/mesh-harness.js'

/** A controller, relays a and b, and a tunnel flow from a to b, arriving. */
async function flowAtoB (h: MeshHarness, flow: Flow): Promise<{ c: Controller, a: Relay, b: Relay }> {
  const c = await h.startController()
  const target = await flow.open()
  const a = await h.startRelay('a', { tunnels: [`127.0.0.1:0@b=127.0.0.1:${target.port}`] })
  const b = await h.startRelay('b')
  await h.until('a routes to b', () => h.nextHop('a', 'b') === 'b', 60_000)
  flow.start(a.tunnels.ingress[0].bound as HostPort, 5)
  await h.until('the flow arrives', () => flow.received() > 50, 30_000)
  return { c, a, b }
}

/** Stops the flow and checks that every datagram sent arrived. */
async function nothingLost (h: MeshHarness, flow: Flow): Promise<void> {
  flow.stopSending()
  const sent = flow.sent
  await h.until('every datagram sent has arrived', () => flow.received() === sent, 10_000).catch(() => {})
  assert.equal(flow.received(), sent, `lost ${sent - flow.received()} of ${sent} datagrams`)
}

/** The pair secret of two identities, as relay `self` computes it for `peer`. */
function pairSecretOf (own: Identity, peer: Identity, self: number, peerNumber: number): Buffer {
  const book = new IdentityKeyBook(self, own)
  book.setPeers(new Map([[peerNumber, [peer.public]]]))
  return book.secrets(peerNumber)[0]
}

/**
 * Rotating a relay's identity key without a flag day (docs/security.md), with tunnel traffic
 * flowing through it: the allow-list takes both keys, the relay switches to the new one, the old
 * one is dropped. At each step the relay stays in the mesh, and the flow loses nothing.
 */
test('a relay key rotates in three steps, accept both, switch, drop, with traffic flowing and nothing lost', { timeout: 180_000 }, async () => {
  const h = new MeshHarness()
  await h.init()
  const oldKey = Identity.generate()
  const newKey = Identity.generate()
  h.identities = { own: Identity.generate(), relays: new Map([['a', oldKey], ['b', Identity.generate()]]) }
  const flow = new Flow()
  try {
    const { c, a, b } = await flowAtoB(h, flow)
    const keysOf = (aKeys: Identity[]): Map<string, typeof oldKey.public[]> => new Map([['a', aKeys.map((k) => k.public)], ['b', [(h.identities?.relays.get('b') as Identity).public]]])

    // 1. Accept both: nothing is revoked, a stays connected on its old key.
    assert.deepEqual(c.setRelayKeys(keysOf([oldKey, newKey])), [])
    // b's data plane admits both before a switches (an operator reloads every step before the next).
    await h.until('b admits both of a\'s keys', () => b.admittedKeys('a') === 2, 30_000)
    // 2. Switch: a reconnects with its new key, and registers again.
    const registered = (): number => c.core.registry.get('a')?.conn ?? -1
    const before = registered()
    a.setIdentity(newKey)
    await h.until('a registers again, on its new key', () => registered() !== before && registered() !== -1, 30_000)
    // 3. Drop the old key: a, on its new key, keeps its channel.
    const conn = registered()
    assert.deepEqual(c.setRelayKeys(keysOf([newKey])), [])
    const sentAt = flow.sent
    await h.until('the flow goes on past the last step', () => flow.received() >= sentAt + 100, 30_000)
    assert.equal(registered(), conn, 'a kept the channel it opened with its new key')
    // The data plane rolled over too: both ends of the link a - b hold the pair secret of a's new
    // key, with no previous keys left to fall back on.
    const sa = a.plane.sessionWith(b.number)
    const sb = b.plane.sessionWith(a.number)
    assert.ok(sa !== undefined && sb !== undefined)
    assert.ok(sa.keys.secret.equals(sb.keys.secret), 'a and b hold the same pair secret')
    const oldSecret = pairSecretOf(oldKey, h.identities.relays.get('b') as Identity, a.number, b.number)
    assert.ok(!sa.keys.secret.equals(oldSecret), 'not the one of a\'s old key')
    assert.ok(c.snapshot().relays.some((r) => r.id === 'a' && r.up))
    await nothingLost(h, flow)
  } finally {
    flow.close()
    await h.stop()
  }
})

/**
 * Rotating the controller's own key (docs/security.md): relays pin both keys, the controller
 * switches, relays drop the old one. The relays stay registered throughout (each step at most
 * reconnects them, on their tables), a flow between them loses nothing, and a relay that pins
 * only the new key gets in.
 */
test('the controller key rotates in three steps, pin both, switch, drop, with traffic flowing and nothing lost', { timeout: 180_000 }, async () => {
  const h = new MeshHarness()
  await h.init()
  const oldKey = Identity.generate()
  const newKey = Identity.generate()
  h.identities = { own: oldKey, relays: new Map([['a', Identity.generate()], ['b', Identity.generate()]]) }
  const flow = new Flow()
  try {
    const { c, a, b } = await flowAtoB(h, flow)
    const conn = (id: string): number => c.core.registry.get(id)?.conn ?? -1
    const reconnected = async (id: string, before: number, what: string): Promise<void> => {
      await h.until(what, () => conn(id) !== before && conn(id) !== -1, 30_000)
    }
    // 1. Pin both: each relay reconnects, and the controller still proves the old key.
    for (const r of [a, b]) {
      const before = conn(r.id)
      r.setControllerKeys([[oldKey.public, newKey.public]])
      await reconnected(r.id, before, `${r.id} reconnects pinning both keys`)
    }
    // 2. Switch: new handshakes prove the new key; open channels stay.
    c.setIdentity(newKey)
    // 3. Drop: each relay pins the new key alone and reconnects; the controller proves it.
    for (const r of [a, b]) {
      const before = conn(r.id)
      r.setControllerKeys([[newKey.public]])
      await reconnected(r.id, before, `${r.id} reconnects pinning the new key alone`)
    }
    const sentAt = flow.sent
    await h.until('the flow goes on past the last step', () => flow.received() >= sentAt + 100, 30_000)
    await nothingLost(h, flow)
  } finally {
    flow.close()
    await h.stop()
  }
})
