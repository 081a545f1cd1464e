/**
 * The baseline of bench:controller (test/bench/controller.ts): a bare QUIC channel server
 * (src/transport/quic, mesh-key handshake and framing included) that takes the control clients'
 * messages and discards them. Its CPU is what the transport alone costs for the same report
 * bytes. Started by the bench with an IPC channel: sends { type: 'ready', port, pid } once
 * listening, then { type: 'count', messages } on request; ends when the channel closes.
 */
import { systemClock } from '../../src/clock.js'
import { controlServerChannel } from '../../src/control/control-channel.js'
import { silentLogger } from '../../src/logging.js'
import { createQuicServer } from '../../src/transport/quic/server.js'

const meshKey = Buffer.from(process.argv[2] ?? '', 'base64')
let messages = 0
const server = createQuicServer({
  host: '127.0.0.1',
  port: 0,
  ...controlServerChannel(meshKey),
  logger: silentLogger(),
  clock: systemClock,
  onChannel: (ch) => { ch.on('message', () => { messages++ }) }
})
const addr = await server.start()
process.send?.({ type: 'ready', port: addr.port, pid: process.pid })
process.on('message', () => { process.send?.({ type: 'count', messages }) })
const stop = (): void => { void server.stop().finally(() => process.exit(0)) }
process.on('disconnect', stop)
// Exiting, not dying by the signal, lets --cpu-prof write its profile.
process.on('SIGTERM', stop)
