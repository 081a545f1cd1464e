import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ByteBudget, DelayLine } from '../../src/transport/impair/delay-line.js'

test('delay lines sharing a byte budget drop what does not fit, and count it as queue', () => {
  const budget = new ByteBudget(250)
  const overflow: number[] = []
  const a = new DelayLine(() => {}, { delayMs: 60_000 }, 1, { budget, onOverflow: (b) => overflow.push(b.length) })
  const b = new DelayLine(() => {}, { delayMs: 60_000 }, 2, { budget, onOverflow: (b) => overflow.push(b.length) })
  try {
    for (let i = 0; i < 100; i++) { a.push(Buffer.alloc(100)); b.push(Buffer.alloc(100)) }
    assert.equal(a.inFlight + b.inFlight, 2, 'two 100-byte packets fit in 250 bytes')
    assert.equal(budget.used, 200)
    assert.equal(overflow.length, 198)
    assert.equal(a.model.stats.dropped.queue + b.model.stats.dropped.queue, 198)
  } finally {
    a.close()
    b.close()
  }
  assert.equal(budget.used, 0, 'closing gives the room back')
})

test('a packet that leaves at once takes no room, and a delivered one gives its room back', async () => {
  const budget = new ByteBudget(100)
  let delivered = 0
  const line = new DelayLine(() => { delivered++ }, {}, 1, { budget })
  for (let i = 0; i < 3; i++) line.push(Buffer.alloc(80))
  assert.equal(delivered, 3, 'no delay: straight through, over the budget or not')
  line.model.set({ delayMs: 1 })
  delivered = 0
  line.push(Buffer.alloc(80))
  assert.equal(budget.used, 80)
  line.push(Buffer.alloc(80))
  assert.equal(line.model.stats.dropped.queue, 1)
  await new Promise<void>((resolve) => {
    const poll = (): void => { if (line.inFlight === 0) resolve(); else setImmediate(poll) }
    poll()
  })
  assert.equal(budget.used, 0)
  line.push(Buffer.alloc(80))
  assert.equal(line.model.stats.dropped.queue, 1, 'room again after delivery')
  line.close()
})
