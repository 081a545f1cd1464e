import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import dgram from 'node:dgram'
import { CLI, freeTcpPort, freeUdpPort, udpSink, waitFor } from '../helpers/relay-process.js'

const procs: ChildProcess[] = []
after(() => { for (const p of procs) p.kill('SIGTERM') })

test('relaymesh impair forwards both ways and changes its impairments at runtime over HTTP', async () => {
  const target = await udpSink()
  target.socket.on('message', (m, r) => { target.socket.send(m, r.port, r.address) })
  const listen = await freeUdpPort()
  const http = await freeTcpPort()
  const p = spawn(process.execPath, [CLI, 'impair', '--listen', `127.0.0.1:${listen}`, '--to', `127.0.0.1:${target.port}`, '--delay', '5', '--http', `127.0.0.1:${http}`], { stdio: ['ignore', 'ignore', 'pipe'] })
  procs.push(p)
  let log = ''
  p.stderr?.on('data', (d: Buffer) => { log += d.toString() })
  await waitFor(() => log.includes('impair started'), 5000, 'impair start')
  const client = dgram.createSocket('udp4')
  const got: number[] = []
  client.on('message', (m) => got.push(m.readUInt32BE(0)))
  await new Promise<void>((resolve) => { client.bind(0, '127.0.0.1', resolve) })
  const send = (i: number): void => { const b = Buffer.alloc(4); b.writeUInt32BE(i); client.send(b, listen, '127.0.0.1') }
  const sentAt = performance.now()
  for (let i = 0; i < 20; i++) send(i)
  await waitFor(() => got.length === 20, 3000, 'echoes')
  assert.ok(performance.now() - sentAt >= 10, 'delay applied both ways')
  assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => i), 'no reordering')

  const res = await fetch(`http://127.0.0.1:${http}/params`, { method: 'POST', body: JSON.stringify({ outage: true }) })
  assert.equal(res.status, 200)
  assert.equal(((await res.json()) as { outage: boolean }).outage, true)
  for (let i = 100; i < 120; i++) send(i)
  await new Promise((resolve) => setTimeout(resolve, 200))
  assert.equal(got.length, 20)
  const stats = await (await fetch(`http://127.0.0.1:${http}/stats`)).json() as { forward: { dropped: { outage: number } } }
  assert.equal(stats.forward.dropped.outage, 20)

  const bad = await fetch(`http://127.0.0.1:${http}/params`, { method: 'POST', body: JSON.stringify({ loss: 7 }) })
  assert.equal(bad.status, 400)
  assert.match(((await bad.json()) as { error: string }).error, /loss/)
  client.close(); target.socket.close()
})
