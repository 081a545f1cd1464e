/**
 * The baseline hop of the forwarding benchmark: node:dgram receiving and sending on, nothing else.
 *
 *   node dist/test/bench/bare-hop.js NEXT_PORT
 *
 * Binds 127.0.0.1 on a free port, prints it as one line on stdout, and forwards every datagram to
 * 127.0.0.1:NEXT_PORT. It uses the same socket shape as a relay's mesh socket (one socket, 4 MiB
 * buffers, unconnected sends with a synchronous resolver for IP literals) so the ratio measures the
 * relay's own work and not a socket setting. It exits when stdin closes, so it cannot outlive the
 * benchmark.
 */
import dgram from 'node:dgram'

const BUFFER = 4 * 1024 * 1024
const HOST = '127.0.0.1'
const next = Number(process.argv[2])
if (!Number.isInteger(next) || next < 1 || next > 65535) {
  process.stderr.write('usage: bare-hop NEXT_PORT\n')
  process.exit(2)
}

type LookupCallback = (err: Error | null, address: string, family: number) => void
const sock = dgram.createSocket({
  type: 'udp4',
  recvBufferSize: BUFFER,
  sendBufferSize: BUFFER,
  // Every address is a literal: answer synchronously instead of dns.lookup's next-tick callback.
  lookup: ((host: string, _opts: unknown, cb: LookupCallback) => { cb(null, host, 4) }) as never
})
sock.on('error', (err) => { process.stderr.write(`bare-hop: ${err.message}\n`) })
sock.on('message', (msg) => { sock.send(msg, next, HOST) })
sock.bind(0, HOST, () => { process.stdout.write(`${sock.address().port}\n`) })

process.stdin.resume()
process.stdin.on('end', () => { process.exit(0) })
process.on('SIGTERM', () => { process.exit(0) })
