import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { systemClock } from '../../src/clock.js'
import { controlServerChannel } from '../../src/control/control-channel.js'
import { silentLogger } from '../../src/logging.js'
import { ImpairProxy } from '../../src/transport/impair/udp-proxy.js'
import { createQuicServer } from '../../src/transport/quic/server.js'
import { ControlClient } from '../../relay/control-client.js'
import { waitFor } from '../helpers/relay-process.js'

const KEY = randomBytes(32)

test('a relay registers with a controller 500 ms of round trip away (QUIC handshake with retry, then the channel\'s own handshake)', async () => {
  const got: string[] = []
  const server = createQuicServer({
    host: '127.0.0.1',
    port: 0,
    ...controlServerChannel(KEY),
    logger: silentLogger(),
    onChannel: (ch) => { ch.on('message', (m) => { got.push((m as { type: string }).type) }) }
  })
  const { port } = await server.start()
  // 250 ms each way: the stateless retry, the QUIC handshake and the mesh-key handshake take some
  // four round trips, 2 s, before the relay can send its register.
  const proxy = new ImpairProxy({ logger: silentLogger() }, {
    listen: { host: '127.0.0.1', port: 0, family: 4 },
    to: { host: '127.0.0.1', port, family: 4 },
    forward: { delayMs: 250 }
  })
  await proxy.start()
  const client = new ControlClient({ clock: systemClock, logger: silentLogger() }, {
    id: 'far',
    advertise: { host: '127.0.0.1', port: 7999, family: 4 },
    controllers: [{ host: '127.0.0.1', port: (proxy.bound as { port: number }).port, family: 4 }],
    meshKey: KEY
  }, {
    current: () => ({ version: 0, table: new Map() }),
    onNeighbours: () => {},
    onTable: () => {}
  })
  client.start()
  try {
    await waitFor(() => got.includes('register'), 30_000, 'the register through the slow path')
    assert.equal(client.connected, 1)
  } finally {
    await client.stop()
    proxy.stop()
    await server.stop()
  }
})
