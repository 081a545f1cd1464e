import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Reason } from '../../src/wire/reasons.js'
import { flowFigures, sendNumbered, startChain, type ChainInit } from '../helpers/static-chain.js'

/** a – b – c – d; b → c loses 20% and has 40 ms of RTT, its reverse (the feedback's way) is clean. */
const LOSSY: ChainInit = {
  ids: ['a', 'b', 'c', 'd'],
  impair: [{ delayMs: 5 }, { delayMs: 20, loss: 0.2 }, { delayMs: 5 }],
  reverse: [{ delayMs: 5 }, { delayMs: 20 }, { delayMs: 5 }]
}

async function run (init: ChainInit): Promise<ReturnType<typeof flowFigures> & { retransmissions: number, unrecoverable: number }> {
  const chain = await startChain(init)
  try {
    const sentAt = await sendNumbered(chain, 1000, 200, 160, 1_000)
    const b = chain.relays[1]
    return {
      ...flowFigures(chain, sentAt),
      retransmissions: b.recovery?.counters.retransmissions ?? 0,
      unrecoverable: b.plane.counters.dropped[Reason.UNRECOVERABLE]
    }
  } finally {
    await chain.stop()
  }
}

test('per-hop recovery brings an audio flow through a link that loses 20% to under 3% loss, with no duplicates', async () => {
  const on = await run({ ...LOSSY, tunnelClass: 'audio' })
  assert.ok(on.loss <= 0.03, `loss with recovery ${on.loss}`)
  assert.equal(on.duplicates, 0)
  assert.ok(on.retransmissions >= 100, `b sent ${on.retransmissions} copies`)
  // Within the 100 ms audio budget: a copy comes one RTT (40 ms) and a little after the loss.
  assert.ok(on.p99AddedMs <= 150, `p99 added ${on.p99AddedMs} ms`)
})

test('without recovery, or for bulk traffic, the same link loses about 20%', async () => {
  const off = await run({ ...LOSSY, tunnelClass: 'audio', recovery: false })
  assert.ok(off.loss >= 0.1, `loss without recovery ${off.loss}`)
  assert.equal(off.retransmissions, 0)
  const bulk = await run({ ...LOSSY })
  assert.ok(bulk.loss >= 0.1, `bulk loss ${bulk.loss}`)
  assert.equal(bulk.retransmissions, 0)
})

test('a copy whose budget is spent is not sent: a 30 ms audio budget over a 40 ms RTT hop recovers nothing and counts unrecoverable', async () => {
  const late = await run({ ...LOSSY, tunnelClass: 'audio', recovery: { budgets: { audioMs: 30 } } })
  assert.equal(late.retransmissions, 0)
  assert.ok(late.loss >= 0.1, `loss ${late.loss}`)
  assert.ok(late.unrecoverable >= 100, `unrecoverable ${late.unrecoverable}`)
})
