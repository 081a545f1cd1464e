import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import dgram from 'node:dgram'
import { hostPortOf, READY_FD, READY_STDIO, readyLine } from '../../sim/process/daemons.js'
import { CLI, udpSink, waitFor } from '../helpers/relay-process.js'

const JSON_TYPE = { 'content-type': 'application/json' }

const procs: ChildProcess[] = []
const sockets: dgram.Socket[] = []
// A failed assertion must not leave a socket open: the test file would never exit.
after(() => {
  for (const p of procs) p.kill('SIGTERM')
  for (const s of sockets) s.close()
})

/** One-way delay the test sets, in ms; an echo crosses the hop twice. */
const DELAY_MS = 60

test('relaymesh impair delays both ways by what it is told, and changes its impairments at runtime over HTTP', { timeout: 60_000 }, async () => {
  const target = await udpSink()
  sockets.push(target.socket)
  target.socket.on('message', (m, r) => { target.socket.send(m, r.port, r.address) })
  const p = spawn(process.execPath, [CLI, 'impair', '--listen', '127.0.0.1:0', '--to', `127.0.0.1:${target.port}`, '--delay', String(DELAY_MS),
    '--http', '127.0.0.1:0', '--ready-fd', String(READY_FD)], { stdio: READY_STDIO })
  procs.push(p)
  let log = ''
  p.stderr?.setEncoding('utf8').on('data', (d: string) => { log += d })
  const ready = await readyLine(p, 'impair', 20_000, () => log)
  const listen = hostPortOf(ready.listen).port
  const http = hostPortOf(ready.http).port

  const client = dgram.createSocket('udp4')
  sockets.push(client)
  const echoedAt = new Map<number, number>()
  const got: number[] = []
  client.on('message', (m) => { const i = m.readUInt32BE(0); got.push(i); echoedAt.set(i, performance.now()) })
  await new Promise<void>((resolve) => { client.bind(0, '127.0.0.1', resolve) })
  const sentAt = new Map<number, number>()
  const send = (i: number, to = listen): void => {
    const b = Buffer.alloc(4); b.writeUInt32BE(i)
    sentAt.set(i, performance.now())
    client.send(b, to, '127.0.0.1')
  }
  const rtt = (i: number): number => (echoedAt.get(i) as number) - (sentAt.get(i) as number)

  // Baseline: the same echo without the hop, one at a time, in this run on this machine.
  const baseline: number[] = []
  for (let i = 1000; i < 1010; i++) {
    send(i, target.port)
    await waitFor(() => echoedAt.has(i), 10_000, `baseline echo ${i}`)
    baseline.push(rtt(i))
  }
  got.length = 0

  for (let i = 0; i < 20; i++) send(i)
  await waitFor(() => got.length === 20, 20_000, 'echoes through the hop')
  assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => i), 'no reordering')
  // A packet can never come back before it waited out the delay both ways, however busy the
  // machine: so every echo takes at least 2 × DELAY_MS, and the baseline shows an echo without
  // the hop takes less. Without the impairment the first bound fails; without the second the
  // first would say nothing.
  const through = Array.from({ length: 20 }, (_, i) => rtt(i))
  const fastest = Math.min(...through)
  assert.ok(fastest >= 2 * DELAY_MS - 1, `every echo waited out the delay both ways (fastest ${fastest.toFixed(1)} ms)`)
  assert.ok(Math.min(...baseline) < 2 * DELAY_MS - 1, `an echo without the hop is faster (${Math.min(...baseline).toFixed(1)} ms)`)

  // A web page can POST text/plain cross-origin without a preflight; the hop must refuse it.
  const text = await fetch(`http://127.0.0.1:${http}/params`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ outage: true }) })
  assert.equal(text.status, 415)
  const res = await fetch(`http://127.0.0.1:${http}/params`, { method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ outage: true }) })
  assert.equal(res.status, 200)
  assert.equal(((await res.json()) as { outage: boolean }).outage, true)
  for (let i = 100; i < 120; i++) send(i)
  const outageDrops = async (): Promise<number> => ((await (await fetch(`http://127.0.0.1:${http}/stats`)).json()) as { forward: { dropped: { outage: number } } }).forward.dropped.outage
  // The hop counts an outage drop as the packet arrives, so once all 20 are counted none is in flight.
  await waitFor(async () => await outageDrops() === 20, 20_000, '20 outage drops')
  assert.equal(got.length, 20, 'nothing crossed the hop during the outage')

  const bad = await fetch(`http://127.0.0.1:${http}/params`, { method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ loss: 7 }) })
  assert.equal(bad.status, 400)
  assert.match(((await bad.json()) as { error: string }).error, /loss/)
})
