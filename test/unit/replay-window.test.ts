import { test } from 'node:test'
import assert from 'node:assert/strict'
import { REPLAY_WINDOW, ReplayWindows, Reason } from '../../src/wire/index.js'

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

test('a newer boot epoch starts a fresh window and an older epoch is a replay', () => {
  const w = new ReplayWindows()
  assert.equal(w.accept(1, 100, 9000), Reason.OK)
  assert.equal(w.accept(1, 101, 0), Reason.OK)
  assert.equal(w.accept(1, 100, 9001), Reason.REPLAY)
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
