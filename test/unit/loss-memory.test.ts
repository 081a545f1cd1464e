import { test } from 'node:test'
import assert from 'node:assert/strict'
import { LOSS_MEMORY_TAU_MS, LossMemory, type ReportedLink } from '../../topology/loss-memory.js'

const link = (loss: number, lossShort: number, up = true): ReportedLink => ({ peer: 'b', up, rtt_ms: 10, jitter_ms: 0, loss, loss_short: lossShort })

test('loss memory: the worse window counts at once, and a dip does not hand the link back', () => {
  const m = new LossMemory()
  assert.equal(m.metrics('a', link(0, 0), 0).loss, 0)
  assert.equal(m.metrics('a', link(0.02, 0.35), 1000).loss, 0.35)
  // One second later the short window reads 15%: the memory still holds about 32%.
  const held = m.metrics('a', link(0.05, 0.15), 2000).loss
  assert.ok(Math.abs(held - 0.35 * Math.exp(-1000 / LOSS_MEMORY_TAU_MS)) < 1e-9, String(held))
  // A higher reading replaces what is held.
  assert.equal(m.metrics('a', link(0.06, 0.4), 2500).loss, 0.4)
})

test('loss memory: a clean link is forgiven within a few time constants, and links are kept apart', () => {
  const m = new LossMemory()
  m.metrics('a', link(0, 0.3), 0)
  assert.ok(m.metrics('a', link(0, 0), 3 * LOSS_MEMORY_TAU_MS).loss < 0.3 * 0.05)
  assert.equal(m.metrics('c', link(0, 0), 1).loss, 0)
})

test('loss memory: a down link does not feed it', () => {
  const m = new LossMemory()
  const down = m.metrics('a', link(1, 1, false), 0)
  assert.equal(down.up, false)
  assert.equal(m.metrics('a', link(0, 0), 100).loss, 0)
})
