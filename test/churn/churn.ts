/**
 * Churn: `npm run test:churn`. Eight relays under a controller carry three tunnel flows while
 * links fail, recover and degrade at random for RELAYMESH_CHURN_SECONDS (default 300). Every 50 ms
 * the forwarding state actually installed in every relay's data plane (fast reroutes included) is
 * checked for loops. At the end no sampled state may have held a loop, and packets that came back to
 * a relay they passed (`loop` drops: each is a micro-loop caught at its first revisit) must stay
 * under 0.01% of those sent; nothing here sends a copy, so no packet is a `replay`. (`ttl_expired`
 * is reported but not asserted: with loops caught at the first revisit it cannot be non-zero on
 * eight relays, so it would guard nothing.) RELAYMESH_CHURN_SECONDS shortens the run for a quick
 * check. Prints a JSON summary line.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { HostPort } from '../../src/transport/address.js'
import { Prng } from '../../src/prng.js'
import { Flow, MeshHarness, sleep } from '../helpers/mesh-harness.js'

const SECONDS = Number(process.env.RELAYMESH_CHURN_SECONDS ?? 300)
const IDS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']
const FLOWS: Array<[string, string]> = [['a', 'h'], ['c', 'f'], ['e', 'b']]

/** Relays (by id) on which following installed next hops toward some destination revisits a relay. */
function loopsIn (h: MeshHarness): number {
  const byNumber = new Map([...h.relays.values()].map((r) => [r.number, r]))
  let loops = 0
  for (const d of h.relays.values()) {
    for (const start of h.relays.values()) {
      const seen = new Set<number>()
      let x = start
      while (x.number !== d.number) {
        if (seen.has(x.number)) { loops++; break }
        seen.add(x.number)
        const hop = x.plane.getRoute(d.number)?.nextHop.number
        const next = hop === undefined ? undefined : byNumber.get(hop)
        if (next === undefined) break
        x = next
      }
    }
  }
  return loops
}

test(`no forwarding loop, and micro-loops caught and bounded, through ${SECONDS} s of link churn under traffic`, { timeout: (SECONDS + 120) * 1000 }, async () => {
  const h = new MeshHarness()
  await h.init()
  await h.startController()
  const rng = new Prng(Number(process.env.RELAYMESH_CHURN_SEED ?? 7))
  const flows: Flow[] = []
  for (let i = 0; i < FLOWS.length; i++) {
    const f = new Flow()
    await f.open()
    flows.push(f)
  }
  for (const id of IDS) {
    const tunnels = FLOWS.map(([s, d], i) => (s === id ? `127.0.0.1:0@${d}=127.0.0.1:${flows[i].target.port}` : '')).filter((t) => t !== '')
    await h.startRelay(id, { tunnels })
  }
  const pairs: Array<[string, string]> = []
  for (let i = 0; i < IDS.length; i++) for (let j = i + 1; j < IDS.length; j++) pairs.push([IDS[i], IDS[j]])
  for (const [x, y] of pairs) h.impair(x, y, { delayMs: 5 + Math.floor(rng.next() * 35) })
  await h.until('every relay has a full table', () => [...h.relays.values()].every((r) => r.forwarding.size === IDS.length - 1), 20_000)
  FLOWS.forEach(([src], i) => { flows[i].start(h.relay(src).tunnels.ingress[0].bound as HostPort, 10) })

  let samples = 0
  let loopySamples = 0
  const sampler = setInterval(() => { samples++; if (loopsIn(h) > 0) loopySamples++ }, 50)
  const failed = new Set<string>()
  const degraded = new Set<string>()
  const events = { fail: 0, recover: 0, degrade: 0, restore: 0 }
  const end = Date.now() + SECONDS * 1000
  while (Date.now() < end) {
    await sleep(1000 + rng.next() * 2000)
    const [x, y] = pairs[Math.floor(rng.next() * pairs.length)]
    const key = `${x}-${y}`
    const roll = rng.next()
    if (failed.has(key)) { h.impair(x, y, { outage: false }); failed.delete(key); events.recover++ } else if (degraded.has(key)) {
      h.impair(x, y, { loss: 0 }); degraded.delete(key); events.restore++
    } else if (roll < 0.5 && failed.size < 4) { h.impair(x, y, { outage: true }); failed.add(key); events.fail++ } else {
      h.impair(x, y, { loss: 0.1 + rng.next() * 0.3 }); degraded.add(key); events.degrade++
    }
  }
  clearInterval(sampler)
  for (const f of flows) f.stopSending()
  await sleep(500)
  const sent = flows.reduce((n, f) => n + f.sent, 0)
  const received = flows.reduce((n, f) => n + f.received(), 0)
  const summary = {
    test: 'churn', seconds: SECONDS, relays: IDS.length, events, samples, loopy_samples: loopySamples,
    loop: h.drops('loop'), replay: h.drops('replay'), ttl_expired: h.drops('ttl_expired'), no_route: h.drops('no_route'),
    sent, received, delivered_ratio: Math.round((received / sent) * 10_000) / 10_000,
    table_versions: h.controller?.tableVersion
  }
  process.stdout.write(JSON.stringify(summary) + '\n')
  for (const f of flows) f.close()
  await h.stop()
  // A packet that comes back to a relay it passed is dropped there as a loop (src, seq seen), so
  // a micro-loop costs one packet, never a TTL's worth of hops. Local fast reroute under several
  // simultaneous failures can make one between table rounds (LFA is loop-free for one failure);
  // bound how often, and count it, rather than pretend it cannot happen.
  assert.ok(summary.loop <= Math.ceil(sent * 0.0001), `micro-loops caught by the replay window: ${summary.loop} of ${sent} packets`)
  assert.equal(summary.replay, 0, 'no packet was counted as a replay: nothing here sends a copy')
  assert.equal(loopySamples, 0, `forwarding state held a loop in ${loopySamples} of ${samples} samples`)
  assert.ok(received > 0)
})
