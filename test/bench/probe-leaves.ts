/**
 * Child process of probe.ts: the leaves of a star, as in-process relays. Each probes the hub and
 * answers the hub's probes, so the hub (a real `relaymesh relay` process) carries the probing load
 * of as many neighbours as the star has leaves.
 *
 *   node dist/test/bench/probe-leaves.js MESH_FILE KEY_FILE HUB_ID
 *
 * IPC: sends { type: 'ready' } once every leaf is listening; answers { type: 'status' } with
 * { type: 'status', up, leaves } (leaves that see the hub up); on { type: 'stop' } stops every
 * leaf and exits. A lost parent stops them too.
 */
import { systemClock } from '../../src/clock.js'
import { silentLogger } from '../../src/logging.js'
import { readMeshKeyFile } from '../../src/mesh-key.js'
import { Relay } from '../../relay/relay.js'
import { loadStaticMesh } from '../../relay/static-mesh.js'

function log (msg: string): void {
  process.stderr.write(`bench leaves: ${msg}\n`)
}

const relays: Relay[] = []

async function stopAll (): Promise<void> {
  await Promise.all(relays.map(async (r) => { await r.stop() }))
}

async function main (): Promise<void> {
  const [meshFile, keyFile, hubId] = process.argv.slice(2, 5)
  const mesh = await loadStaticMesh(meshFile)
  const meshKey = await readMeshKeyFile(keyFile)
  const hub = mesh.relays.get(hubId)
  if (hub === undefined) throw new Error(`hub '${hubId}' is not in ${meshFile}`)
  const logger = silentLogger()
  for (const r of mesh.relays.values()) {
    if (r.id === hubId) continue
    const relay = new Relay({ clock: systemClock, logger }, { id: r.id, listen: { host: r.host, port: r.port, family: r.family }, meshKey, staticMesh: mesh })
    relays.push(relay)
    await relay.start()
  }
  log(`${relays.length} leaves listening`)
  process.on('message', (msg: { type: string }) => {
    if (msg.type === 'status') {
      const up = relays.filter((r) => r.prober.isUp(hub.number)).length
      process.send?.({ type: 'status', up, leaves: relays.length })
    } else if (msg.type === 'stop') {
      void stopAll().finally(() => { if (process.connected) process.disconnect() })
    }
  })
  process.on('disconnect', () => { void stopAll() })
  process.send?.({ type: 'ready' })
}

main().catch(async (err: Error) => {
  log(`failed: ${err.stack ?? err.message}`)
  await stopAll()
  process.exitCode = 1
  if (process.connected) process.disconnect()
})
