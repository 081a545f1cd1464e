import assert from 'node:assert/strict'
import { test } from 'node:test'
import { redisUnavailable, startRedis } from '../helpers/redis-server.js'
import { Flow, MeshHarness, sleep, startControllerProcess, type ControllerProcess } from '../helpers/mesh-harness.js'

const noRedis = redisUnavailable()

async function role (c: ControllerProcess): Promise<string> {
  try {
    return ((await (await fetch(`${c.http}/healthz`, { signal: AbortSignal.timeout(1000) })).json()) as { role: string }).role
  } catch { return 'unreachable' }
}

test('a standby controller on the same Redis takes over within 3 s of the leader\'s kill -9', { skip: noRedis }, async (t) => {
  const redis = await startRedis()
  const h = new MeshHarness()
  await h.init()
  const first = await startControllerProcess(h, 0, ['--redis', redis.url])
  const second = await startControllerProcess(h, 0, ['--redis', redis.url])
  const flow = new Flow()
  try {
    assert.equal(await role(first), 'leader')
    assert.equal(await role(second), 'standby')
    h.controllerAddrs = [first.control, second.control]
    const ingress = await h.fiveRelays(await flow.open())
    flow.start(ingress)
    await h.until('tables from the leader', () => h.nextHop('a', 'e') === 'b' && [...h.relays.values()].every((r) => r.forwarding.size === 4), 25_000)
    const from = flow.sent
    const t0 = performance.now()
    first.proc.kill('SIGKILL')
    let took = Infinity
    while (performance.now() - t0 < 6000) {
      if (await role(second) === 'leader') { took = performance.now() - t0; break }
      await sleep(50)
    }
    t.diagnostic(`takeover after kill -9: ${took.toFixed(0)} ms`)
    assert.ok(took <= 3000, `standby took over after ${took.toFixed(0)} ms`)
    // 100 packets more after the takeover, then their arrival: counted, not slept for.
    const sentAtTakeover = flow.sent
    await h.until('100 packets sent after the takeover', () => flow.sent >= sentAtTakeover + 100, 60_000)
    const to = flow.sent
    const lostCount = (): number => {
      const got = new Set(flow.arrivals.map((x) => x.seq))
      let lost = 0
      for (let s = from; s < to; s++) if (!got.has(s)) lost++
      return lost
    }
    await h.until('every packet of the changeover to arrive', () => lostCount() === 0, 10_000).catch(() => {})
    const lost = lostCount()
    assert.equal(lost, 0, `lost ${lost} of ${to - from} packets while the controllers changed over`)
    // The relays follow the new leader: a link failure is now handled by it.
    const v0 = ((await (await fetch(`${second.http}/api/topology?routes=false`)).json()) as { version: number }).version
    h.impair('b', 'e', { outage: true })
    // Poll the new leader until it has pushed a newer version routing a→e around b→e; then the
    // relays, which take tables only from it now, must forward that way.
    type Topo = { version: number, routes: Record<string, Record<string, { next_hop: string, path: string[] }>> }
    let topo: Topo | undefined
    const deadline = performance.now() + 30_000
    while (performance.now() < deadline) {
      topo = await (await fetch(`${second.http}/api/topology`)).json() as Topo
      if (topo.version > v0 && !(topo.routes.a?.e?.path ?? []).join('>').includes('b>e')) break
      await sleep(100)
    }
    assert.ok(topo !== undefined && topo.version > v0, 'the new leader pushed a new version')
    const avoid = topo.routes.a.e.path
    assert.ok(!avoid.join('>').includes('b>e'), `the new leader routes a→e around b→e (${avoid.join('→')})`)
    await h.until('a follows the new leader\'s table', () => h.nextHop('a', 'e') === topo?.routes.a.e.next_hop, 30_000)
  } finally {
    flow.close()
    first.proc.kill('SIGKILL')
    second.proc.kill('SIGKILL')
    await h.stop()
    await redis.stop()
  }
})
