import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { forwardVerdict, Verdict } from '../../relay/forward-verdict.js'
import { PassedRelays } from '../../sim/model/flow-runner.js'
import { Reason } from '../../src/wire/reasons.js'
import { ReplayWindows, Seen } from '../../src/wire/replay-window.js'

const SELF = 7
const SRC = 1
const DST = 9

test('the forwarding verdict checks the TTL before the window, so an expired copy records nothing', () => {
  const w = new ReplayWindows()
  assert.equal(forwardVerdict(SELF, SRC, DST, 1, 1, 42, w, true), Reason.TTL_EXPIRED)
  assert.equal(forwardVerdict(SELF, SRC, DST, 5, 1, 42, w, true), Verdict.FORWARD)
  // The same packet again: in transit a duplicate is a loop.
  assert.equal(forwardVerdict(SELF, SRC, DST, 5, 1, 42, w, true), Reason.LOOP)
})

test('the forwarding verdict: own source is a loop in transit and a replay at the destination; another boot starts afresh', () => {
  const w = new ReplayWindows()
  assert.equal(forwardVerdict(SELF, SELF, DST, 5, 1, 1, w, true), Reason.LOOP)
  assert.equal(forwardVerdict(SELF, SELF, SELF, 5, 1, 2, w, true), Reason.REPLAY)
  assert.equal(forwardVerdict(SELF, SRC, SELF, 5, 2, 1, w, false), Verdict.DELIVER)
  assert.equal(forwardVerdict(SELF, SRC, SELF, 5, 2, 1, w, false), Reason.REPLAY)
  assert.equal(forwardVerdict(SELF, SRC, DST, 5, 2, 3, w, false), Reason.NO_ROUTE)
  assert.equal(w.check(SRC, 2, 3), Seen.DUPLICATE, 'a packet with no route was recorded, as the data plane always did')
})

/**
 * One packet's hops through relays 0..5 from `src` to `dst`: `hops` are the relays it is handed
 * to in turn, `routed` whether each has a route; returns the verdict at each relay until the first
 * that is not FORWARD, on the data plane's windows (one ReplayWindows per relay) or the model's.
 */
function walk (hops: number[], routed: boolean[], src: number, dst: number, model: boolean): number[] {
  const windows = new Map<number, ReplayWindows>()
  const passed = new PassedRelays()
  passed.visited = [src]
  const out: number[] = []
  let ttl = 6
  for (let i = 0; i < hops.length; i++) {
    const v = hops[i]
    let w: ReplayWindows | PassedRelays
    if (model) {
      passed.at = v
      w = passed
    } else {
      w = windows.get(v) ?? new ReplayWindows()
      windows.set(v, w)
    }
    const verdict = forwardVerdict(v, src, dst, ttl, 1, 1000, w, routed[i])
    out.push(verdict)
    if (verdict !== Verdict.FORWARD) break
    ttl--
  }
  return out
}

test('the model\'s windows (the relays a packet passed) give the data plane\'s verdict at every hop', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 10 }),
    fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }),
    fc.integer({ min: 0, max: 5 }),
    fc.integer({ min: 0, max: 5 }),
    (hops, routed, src, dst) => {
      assert.deepEqual(walk(hops, routed, src, dst, true), walk(hops, routed, src, dst, false))
    }), { numRuns: 2000 })
})
