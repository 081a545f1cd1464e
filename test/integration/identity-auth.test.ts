import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { CONTROL_ALPN } from '../../src/control/constants.js'
import { identityClientAuth, identityServerAuth, type IdentityPeer } from '../../src/control/identity-auth.js'
import { ErrorCode } from '../../src/errors.js'
import { Identity, type PublicIdentity } from '../../src/identity.js'
import { silentLogger } from '../../src/logging.js'
import { connectQuic, createQuicServer, HandshakeError, type Channel, type QuicServer } from '../../src/transport/quic/channel.js'

/**
 * The control channel's identity hook over real QUIC: a relay whose key the allow-list holds gets
 * in as the relay id listed with it; an unlisted key, a relay without the listed key's private
 * half, and a controller whose key is not the pinned one are each refused.
 */

const LIMIT = { timeout: 60_000 }
const servers: QuicServer[] = []
const channels: Channel[] = []
after(async () => {
  await Promise.all(channels.map(async (c) => { await c.close() }))
  await Promise.all(servers.map(async (s) => { await s.stop() }))
})

async function controller (own: Identity, allow: Map<string, PublicIdentity>): Promise<{ port: number, peers: IdentityPeer[] }> {
  const peers: IdentityPeer[] = []
  const server = createQuicServer<IdentityPeer>({
    host: '127.0.0.1',
    port: 0,
    alpn: CONTROL_ALPN,
    auth: identityServerAuth(own, (key) => [...allow].find(([, k]) => k.equals(key))?.[0]),
    logger: silentLogger(),
    onChannel: (ch, peer) => { channels.push(ch); peers.push(peer) }
  })
  servers.push(server)
  return { port: (await server.start()).port, peers }
}

async function connect (port: number, own: Identity, pinned: PublicIdentity): Promise<Channel> {
  const ch = await connectQuic({ host: '127.0.0.1', port, alpn: CONTROL_ALPN, auth: identityClientAuth(own, pinned), logger: silentLogger(), timeoutMs: 20_000 })
  channels.push(ch)
  return ch
}

const ctl = Identity.generate()
const relayA = Identity.generate()
const relayB = Identity.generate()

test('a listed relay key gets in, as the relay id it is listed under', LIMIT, async () => {
  const c = await controller(ctl, new Map([['relay-a', relayA.public], ['relay-b', relayB.public]]))
  await connect(c.port, relayB, ctl.public)
  await connect(c.port, relayA, ctl.public)
  for (let i = 0; i < 100 && c.peers.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  assert.deepEqual(c.peers.map((p) => p.relayId).sort(), ['relay-a', 'relay-b'])
  assert.ok(c.peers.find((p) => p.relayId === 'relay-a')?.key.equals(relayA.public))
})

test('an unlisted relay key is refused, and told why', LIMIT, async () => {
  const c = await controller(ctl, new Map([['relay-a', relayA.public]]))
  await assert.rejects(connect(c.port, relayB, ctl.public), (e: Error) => e instanceof HandshakeError && e.failure === 'refused' && e.code === ErrorCode.AUTH && /unknown relay key/.test(e.message))
  assert.equal(c.peers.length, 0)
})

test('a relay that presents a listed key without holding it fails the proof', LIMIT, async () => {
  const c = await controller(ctl, new Map([['relay-a', relayA.public]]))
  // An impostor: relay-a's public key, its own private key.
  const impostor = Object.create(relayB, { public: { value: relayA.public } }) as Identity
  await assert.rejects(connect(c.port, impostor, ctl.public), (e: Error) => e instanceof HandshakeError && e.failure === 'refused' && /identity proof failed/.test(e.message))
  assert.equal(c.peers.length, 0)
})

test('a controller whose key is not the pinned one is refused by the relay', LIMIT, async () => {
  const other = Identity.generate()
  const c = await controller(other, new Map([['relay-a', relayA.public]]))
  await assert.rejects(connect(c.port, relayA, ctl.public), (e: Error) => e instanceof HandshakeError && e.failure === 'rejected' && /not the one pinned/.test(e.message))
})
