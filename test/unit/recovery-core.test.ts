import { test } from 'node:test'
import assert from 'node:assert/strict'
import { GapTracker } from '../../relay/recovery/gap-tracker.js'
import { Resend, RetransmitBuffer, type Copy } from '../../relay/recovery/retransmit-buffer.js'
import { classOf, classPolicies } from '../../relay/recovery/class-policy.js'
import { TrafficClass } from '../../src/wire/constants.js'

const never = (): void => { throw new Error('nothing should fail here') }

test('gap tracker asks for a gap after the reorder wait, again after an RTT, and at most maxAsks times', () => {
  const g = new GapTracker({ reorderMs: 2, maxAsks: 2, minIntervalMs: 0, tailAsks: 0 })
  g.receive(0, 0, false, true)
  g.receive(1, 1, false, true)
  g.receive(4, 10, false, true)
  assert.equal(g.poll(11, 40), undefined, 'within the reorder wait')
  assert.deepEqual(g.poll(12, 40), { highest: 4, missing: [2, 3] })
  assert.equal(g.poll(13, 40), undefined)
  assert.ok(g.receive(2, 30, false, true), 'a copy fills the gap')
  assert.equal(g.poll(53, 40), undefined, 'one RTT and the reorder wait have not passed')
  assert.deepEqual(g.poll(54, 40), { highest: 4, missing: [3] })
  assert.equal(g.poll(200, 40), undefined, 'asked twice: given up')
  assert.equal(g.missingCount, 0)
  assert.equal(g.stats.recovered, 1)
  assert.equal(g.stats.givenUp, 1)
})

test('gap tracker: a reordered packet that arrives within the wait is never asked for', () => {
  const g = new GapTracker({ reorderMs: 5, minIntervalMs: 0, tailAsks: 0 })
  g.receive(10, 0, false, true)
  g.receive(12, 1, false, true)
  g.receive(11, 3, false, true)
  assert.equal(g.poll(20, 10), undefined)
  assert.equal(g.stats.asked, 0)
})

test('gap tracker paces feedback and bounds what it tracks after a long outage', () => {
  const g = new GapTracker({ reorderMs: 0, minIntervalMs: 10, maxMissing: 100, maxPerFeedback: 30, tailAsks: 0 })
  g.receive(0, 0, false, true)
  g.receive(1001, 1, false, true)
  assert.equal(g.missingCount, 100, 'only the newest 100 of 1,000 missing are kept')
  assert.equal(g.stats.givenUp, 900)
  const a = g.poll(1, 50)
  assert.equal(a?.missing.length, 30)
  assert.equal(a?.missing[0], 901)
  assert.equal(g.poll(5, 50), undefined, 'paced')
  assert.equal(g.poll(11, 50)?.missing[0], 931)
})

test('gap tracker acknowledges reliable packets within the ack delay even with nothing missing', () => {
  const g = new GapTracker({ ackDelayMs: 10, minIntervalMs: 0 })
  g.receive(0, 0, false, true)
  assert.equal(g.poll(50, 10), undefined, 'nothing reliable: no feedback')
  g.receive(1, 100, true)
  assert.equal(g.nextWakeMs(10), 110)
  assert.equal(g.poll(105, 10), undefined)
  assert.deepEqual(g.poll(110, 10), { highest: 1, missing: [] })
  assert.equal(g.nextWakeMs(10), Infinity)
})

test('retransmit buffer sends a copy only while its budget covers the delay, carrying the rest on', () => {
  const b = new RetransmitBuffer<string>({ slots: 8 })
  b.sent(5, 100, 'p5', 60, false)
  b.sent(6, 100, 'p6', 60, false)
  const c = b.resend(5, 140, 0, never) as Copy<string>
  assert.equal(c.packet, 'p5')
  assert.equal(c.budgetMs, 20, '60 ms of budget, 40 used by the wait')
  assert.equal(b.resend(5, 141, 0, never), Resend.UNKNOWN, 'sent again once per ask: the copy gets a new sequence')
  b.again(9, 141, c)
  assert.equal((b.resend(9, 150, 0, never) as Copy<string>).budgetMs, 10, 'the copy keeps the first send\'s clock')
  assert.equal(b.resend(6, 161, 0, never), Resend.LATE)
  assert.equal(b.stats.unrecoverable, 1)
})

test('retransmit buffer keeps nothing for bulk, and forgets what its ring overwrote', () => {
  const b = new RetransmitBuffer<string>({ slots: 4 })
  b.sent(1, 0, 'bulk', 0, false)
  assert.equal(b.resend(1, 1, 0, never), Resend.UNKNOWN)
  b.sent(2, 0, 'a', 100, false)
  b.sent(6, 0, 'b', 100, false)
  assert.equal(b.resend(2, 1, 0, never), Resend.UNKNOWN, 'slot 2 now holds sequence 6')
  assert.equal((b.resend(6, 1, 0, never) as Copy<string>).packet, 'b')
})

test('retransmit buffer caps copies at 30% of what the link sends', () => {
  const b = new RetransmitBuffer<number>({ slots: 2048, capRatio: 0.3, maxBurst: 2 })
  let copies = 0
  for (let s = 0; s < 1000; s++) {
    b.sent(s, s, s, 1_000, false)
    // Every packet is asked for: a link that loses everything.
    if (typeof b.resend(s, s, 0, never) === 'object') copies++
  }
  assert.ok(copies <= 302 && copies >= 299, `copies ${copies} of 1,000 sent`)
  assert.equal(b.stats.capped, 1000 - copies)
})

test('retransmit buffer: reliable packets go again on timeout until acknowledged, then give up after maxAttempts', () => {
  const b = new RetransmitBuffer<string>({ maxAttempts: 3 })
  const failed: string[] = []
  const sent: Array<Copy<string>> = []
  b.sent(0, 0, 'sig-a', 0, true)
  b.sent(1, 0, 'sig-b', 0, true)
  assert.equal(b.unacknowledged, 2)
  b.feedback({ highest: 1, missing: [0] }, 5, 10, (c) => { sent.push(c) }, (p) => { failed.push(p) })
  assert.equal(b.unacknowledged, 0, 'b acknowledged; a is out as a copy')
  assert.equal(sent.length, 1)
  assert.equal(sent[0].attempts, 2)
  b.again(2, 5, sent[0])
  // Nothing comes back: the timeout sends it a third time, then gives up.
  b.expire(10, 10, 10, (c) => { sent.push(c) }, (p) => { failed.push(p) })
  assert.equal(sent.length, 1, 'the timeout (2 RTT + ack delay = 30 ms) has not passed')
  b.expire(35, 10, 10, (c) => { sent.push(c) }, (p) => { failed.push(p) })
  assert.equal(sent.length, 2)
  b.again(3, 35, sent[1])
  b.expire(70, 10, 10, (c) => { sent.push(c) }, (p) => { failed.push(p) })
  assert.deepEqual(failed, ['sig-a'])
  assert.equal(b.stats.failed, 1)
  assert.equal(b.unacknowledged, 0)
})

test('class policies: audio and video recover within budgets, signaling is reliable, other values are bulk', () => {
  const p = classPolicies({ audioMs: 80 })
  assert.deepEqual(p.get(TrafficClass.AUDIO), { mode: 'deadline', budgetMs: 80, priority: 2 })
  assert.equal(p.get(TrafficClass.VIDEO)?.budgetMs, 250)
  assert.equal(p.get(TrafficClass.SIGNALING)?.mode, 'reliable')
  assert.equal(classOf(77), TrafficClass.BULK)
  assert.throws(() => classPolicies({ videoMs: 0 }), /video recovery budget 0 ms is out of range/)
})

test('retransmit buffer sends a last-chance copy twice: one that could not wait another RTT', () => {
  const b = new RetransmitBuffer<string>({ maxBurst: 4 })
  b.sent(1, 0, 'early', 100, false)
  b.sent(2, 0, 'late', 100, false)
  assert.equal((b.resend(1, 20, 40, never) as Copy<string>).count, 1, '20 ms and two 40 ms RTTs leave room for another round')
  assert.equal((b.resend(2, 21, 40, never) as Copy<string>).count, 2, '21 ms and two RTTs do not')
  assert.equal(b.stats.resent, 3)
})

test('gap tracker ignores gaps on a link that carried nothing recoverable lately: probes lost there cannot come back', () => {
  const g = new GapTracker({ reorderMs: 0, minIntervalMs: 0 })
  g.receive(0, 0, false, false)
  g.receive(5, 10, false, false)
  assert.equal(g.missingCount, 0)
  g.receive(6, 20, false, true)
  g.receive(9, 30, false, true)
  assert.equal(g.missingCount, 2, 'with audio flowing, gaps count')
  g.receive(20, 2_000, false, false)
  assert.equal(g.stats.gaps, 2, 'a second after the last audio packet, not any more')
})

test('gap tracker asks for the sequences after the highest once a flow falls silent for 1.5 of its spacing', () => {
  const g = new GapTracker({ reorderMs: 0, minIntervalMs: 0 })
  for (let i = 0; i <= 10; i++) g.receive(i, i * 20, false, true)
  assert.equal(g.poll(225, 40), undefined, '25 ms of silence: the next packet is only 5 ms late')
  assert.deepEqual(g.poll(231, 40), { highest: 10, missing: [11] })
  assert.equal(g.poll(235, 40), undefined, 'asked once per silence')
  assert.deepEqual(g.poll(241, 40), { highest: 10, missing: [12] }, 'a second interval later, the next one')
  assert.equal(g.pending(200 + 251), false, 'past TAIL_ASK_MAX_MS the silence is a flow that ended')
})

test('gap tracker starts over with a new link session: sequences from 0 are new again, and a silent tail is asked for again', () => {
  const g = new GapTracker({ reorderMs: 0, minIntervalMs: 0 })
  for (let i = 100; i <= 110; i++) g.receive(i, (i - 100) * 20, false, true)
  assert.deepEqual(g.poll(235, 40)?.missing, [111])
  g.reset()
  for (let i = 0; i <= 10; i++) g.receive(i, 1000 + i * 20, false, true)
  assert.deepEqual(g.poll(1231, 40), { highest: 10, missing: [11] })
})
