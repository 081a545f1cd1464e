import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { REPLAY_WINDOW, ReplayWindows, Reason, Seen } from '../../src/wire/index.js'

test('a sequence seen twice is a replay', () => {
  const w = new ReplayWindows()
  assert.equal(w.accept(1, 100, 5), Reason.OK)
  assert.equal(w.accept(1, 100, 5), Reason.REPLAY)
})

test('reordering inside the window is accepted once per sequence', () => {
  const w = new ReplayWindows()
  for (const s of [10, 12, 11, 9, 1000, 500]) assert.equal(w.accept(1, 100, s), Reason.OK, `seq ${s}`)
  for (const s of [10, 12, 11, 9, 1000, 500]) assert.equal(w.accept(1, 100, s), Reason.REPLAY, `seq ${s} again`)
})

test('a sequence a full window behind the newest is a replay', () => {
  const w = new ReplayWindows()
  assert.equal(w.accept(1, 100, REPLAY_WINDOW + 50), Reason.OK)
  assert.equal(w.accept(1, 100, 50), Reason.REPLAY)
  assert.equal(w.accept(1, 100, 51), Reason.OK)
})

test('bits are cleared as the window slides, so old slots do not poison new sequences', () => {
  const w = new ReplayWindows()
  for (let s = 0; s < 3 * REPLAY_WINDOW; s += 7) assert.equal(w.accept(1, 1, s), Reason.OK)
  // Sequences skipped above and still inside the window are new.
  const top = 3 * REPLAY_WINDOW - 3 * REPLAY_WINDOW % 7
  assert.equal(w.accept(1, 1, top - 1), Reason.OK)
})

test('another boot id starts a fresh window: boot ids are random, not ordered', () => {
  const w = new ReplayWindows()
  assert.equal(w.accept(1, 100, 9000), Reason.OK)
  assert.equal(w.accept(1, 7, 0), Reason.OK)
  assert.equal(w.accept(1, 7, 0), Reason.REPLAY)
  assert.equal(w.accept(1, 100, 9000), Reason.OK, 'a boot switched back to starts afresh too (sessions close ended boots)')
})

test('sources have independent windows', () => {
  const w = new ReplayWindows()
  assert.equal(w.accept(1, 100, 5), Reason.OK)
  assert.equal(w.accept(2, 100, 5), Reason.OK)
  assert.equal(w.size, 2)
})

test('the number of tracked sources is bounded', () => {
  const w = new ReplayWindows(4)
  for (let src = 1; src <= 10; src++) w.accept(src, 1, 1)
  assert.equal(w.size, 4)
})

test('sequences near 2^53 are handled exactly', () => {
  const w = new ReplayWindows()
  const big = Number.MAX_SAFE_INTEGER - 10
  assert.equal(w.accept(1, 1, big), Reason.OK)
  assert.equal(w.accept(1, 1, big - 1), Reason.OK)
  assert.equal(w.accept(1, 1, big), Reason.REPLAY)
})

test('check tells a duplicate inside the window from a stale packet behind it', () => {
  const w = new ReplayWindows()
  assert.equal(w.check(1, 100, 10_000), Seen.NEW)
  assert.equal(w.check(1, 100, 10_000), Seen.DUPLICATE)
  assert.equal(w.check(1, 100, 10_000 - REPLAY_WINDOW + 1), Seen.NEW)
  assert.equal(w.check(1, 100, 10_000 - REPLAY_WINDOW + 1), Seen.DUPLICATE)
  assert.equal(w.check(1, 100, 10_000 - REPLAY_WINDOW), Seen.STALE)
})

/** Replaces source `src`'s bitmap with a proxy that counts element writes. */
function countWrites (w: ReplayWindows, src: number): { writes: number } {
  const sw = (w as unknown as { sources: Map<number, { bits: Uint32Array }> }).sources.get(src)
  assert.ok(sw !== undefined)
  const counter = { writes: 0 }
  sw.bits = new Proxy(sw.bits, {
    set (target, key, value) { counter.writes++; (target as unknown as Record<string | symbol, unknown>)[key] = value; return true },
    get (target, key) { return (target as unknown as Record<string | symbol, unknown>)[key] }
  })
  return counter
}

test('a jump of almost a whole window clears the bitmap word by word, not sequence by sequence (RFC 6479)', () => {
  const w = new ReplayWindows()
  assert.equal(w.check(1, 1, 0), Seen.NEW)
  const counter = countWrites(w, 1)
  assert.equal(w.check(1, 1, REPLAY_WINDOW - 1), Seen.NEW)
  // 128 words cleared and one bit set; per-sequence clearing would write 4,094 times.
  assert.ok(counter.writes <= REPLAY_WINDOW / 32 + 2, `${counter.writes} bitmap writes for one jump`)
  // And the cleared slots are really free.
  for (let s = 1; s < REPLAY_WINDOW - 1; s += 97) assert.equal(w.check(1, 1, s), Seen.NEW, `seq ${s}`)
})

test('the window agrees with a set of every sequence seen, under random jumps, reorders and repeats', () => {
  // A reference model: seen sequences in a Set, and the window rule stated plainly.
  const step = fc.oneof(
    fc.integer({ min: 1, max: 40 }), // small advance
    fc.integer({ min: 1, max: 3 * REPLAY_WINDOW }), // jump, often beyond the window
    fc.integer({ min: -REPLAY_WINDOW - 40, max: 0 }) // a late or repeated packet
  )
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.array(step, { maxLength: 400 }), (start, steps) => {
    const w = new ReplayWindows()
    const seen = new Set<number>()
    let top = -1
    let seq = start
    for (const d of steps) {
      seq = Math.max(0, seq + d)
      const want = seq > top ? Seen.NEW : top - seq >= REPLAY_WINDOW ? Seen.STALE : seen.has(seq) ? Seen.DUPLICATE : Seen.NEW
      assert.equal(w.check(7, 1, seq), want, `seq ${seq}, top ${top}`)
      if (want === Seen.NEW) { seen.add(seq); top = Math.max(top, seq) }
      // Only the newest (top) defines the window: move back to it now and then.
      if (d <= 0) seq = top
    }
  }), { numRuns: 300 })
})

test('accept maps every refusal to replay', () => {
  const w = new ReplayWindows()
  assert.equal(w.accept(1, 5, 10_000), Reason.OK)
  assert.equal(w.accept(1, 5, 10_000), Reason.REPLAY)
  assert.equal(w.accept(1, 5, 1), Reason.REPLAY)
})
