import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Identity } from '../../src/identity.js'
import { dropCount, freeUdpPort, makeMeshDir, startRelay, udpSink, waitFor, type RelayProcess } from '../helpers/relay-process.js'

// A static mesh on identities (docs/static-mesh.md): each relay has its own key, the mesh file
// lists every relay's public key, and the data plane admits exactly those. A relay whose key is
// taken out of the file is cut off when the others re-read it (SIGHUP).

const relays: RelayProcess[] = []
after(async () => { for (const r of relays) await r.stop() })

test('static relays on identities carry a tunnel; one taken out of the file is cut off on SIGHUP', { timeout: 120_000 }, async () => {
  const mesh = await makeMeshDir(['a', 'b', 'c'], [['a', 'b'], ['b', 'c']])
  const keys = new Map(['a', 'b', 'c'].map((id) => [id, Identity.generate()]))
  const doc = JSON.parse(await readFile(mesh.meshFile, 'utf8')) as { relays: Array<{ id: string, key?: string }> }
  for (const r of doc.relays) r.key = (keys.get(r.id) as Identity).public.text
  await writeFile(mesh.meshFile, JSON.stringify(doc))
  for (const [id, k] of keys) await writeFile(join(mesh.dir, `${id}.id`), k.text + '\n', { mode: 0o600 })
  const sink = await udpSink()
  const tunnelPort = await freeUdpPort()
  const idArgs = (id: string): string[] => ['--identity', join(mesh.dir, `${id}.id`)]
  relays.push(await startRelay(mesh, 'a', [...idArgs('a'), '--tunnel', `127.0.0.1:${tunnelPort}@c=127.0.0.1:${sink.port}`]))
  relays.push(await startRelay(mesh, 'b', idArgs('b')))
  relays.push(await startRelay(mesh, 'c', [...idArgs('c'), '--egress-allow', `127.0.0.1/32:${sink.port}`]))
  const [, b, c] = relays
  const client = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => { client.bind(0, '127.0.0.1', resolve) })
  let sent = 0
  const timer = setInterval(() => { client.send(`d${sent++}`, tunnelPort, '127.0.0.1') }, 10)
  try {
    await waitFor(() => sink.received.length > 50, 30_000, 'the flow at the sink')
    // a comes out of the file; b and c re-read it. a keeps running and sending.
    // a's entry now lists another key: a's own key is no longer admitted.
    const without = { ...doc, relays: doc.relays.map((r) => r.id === 'a' ? { ...r, key: Identity.generate().public.text } : r) }
    await writeFile(mesh.meshFile, JSON.stringify(without))
    const badAuthBefore = dropCount(await b.metrics(), 'bad_auth')
    const t0 = Date.now()
    for (const r of [b, c]) r.proc.kill('SIGHUP')
    await waitFor(async () => dropCount(await b.metrics(), 'bad_auth') > badAuthBefore, 10_000, 'b to refuse a')
    const n = sink.received.length
    await new Promise((resolve) => setTimeout(resolve, 1000))
    console.log(`static revocation: b refused a ${Date.now() - t0 - 1000} ms or less after SIGHUP; ${sink.received.length - n} delivered after`)
    assert.equal(sink.received.length, n, 'nothing of a arrives once b refuses it')
    assert.ok(sent > n + 50, 'a was still sending')
  } finally {
    clearInterval(timer)
    client.close()
    sink.socket.close()
  }
})
