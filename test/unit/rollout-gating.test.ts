import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ROUND_ACK_TIMEOUT_MS } from '../../controller/constants.js'
import { CommandSink } from '../../controller/core/commands.js'
import { Registry } from '../../controller/core/registry.js'
import { Rollout } from '../../controller/core/rollout.js'
import type { CoreCommand } from '../../controller/core/types.js'
import { InstalledTables, RelayIndex } from '../../topology/route-diff.js'
import type { RolloutPlan, RoundPart } from '../../topology/rollout-plan.js'

/** A rollout over registered relays a…f; `send()` runs next() and returns who got which round. */
function harness (): { rollout: Rollout, send: (now: number) => { sent: string[], done: boolean, cmds: CoreCommand[] }, out: CommandSink } {
  const ids = ['a', 'b', 'c', 'd', 'e', 'f']
  const index = new RelayIndex(ids)
  const registry = new Registry()
  ids.forEach((id, i) => registry.register(i + 1, i, { id, address: `127.0.0.1:${7001 + i}`, boot: `boot-${id}-0000`, caps: [], tableVersion: 0 }))
  const installed = new InstalledTables(index)
  const rollout = new Rollout()
  const out = new CommandSink()
  const send = (now: number): { sent: string[], done: boolean, cmds: CoreCommand[] } => {
    const done = rollout.next(out, { registry, installed, fence: 1, now })
    const cmds = out.take()
    return { sent: cmds.flatMap((c) => c.type === 'table' ? [`${c.relay}${c.round}`] : []), done, cmds }
  }
  return { rollout, send, out }
}

const part = (dst: string, nextHop: string): RoundPart => ({ upserts: { [dst]: { next_hop: nextHop, backup: null } }, removals: [] })

// Round 1: a, b, c; round 2: d waits for a only, e for b only; round 3: f waits for d.
const plan: RolloutPlan = [
  { round: 1, parts: new Map([['a', part('x', 'b')], ['b', part('y', 'c')], ['c', part('z', 'a')]]), waitsFor: new Map() },
  { round: 2, parts: new Map([['d', part('x', 'a')], ['e', part('y', 'b')]]), waitsFor: new Map([['d', new Set(['a'])], ['e', new Set(['b'])]]) },
  { round: 3, parts: new Map([['f', part('x', 'd')]]), waitsFor: new Map([['f', new Set(['d'])]]) }
]

test('a part goes out once the parts it waits for are acknowledged, not the whole round before it', () => {
  const { rollout, send } = harness()
  rollout.start(5, plan, 0)
  const first = send(0)
  assert.deepEqual(first.sent, ['a1', 'b1', 'c1'], 'what others wait for goes first; round 1 waits for nothing')
  assert.deepEqual(first.cmds.filter((c) => c.type === 'set-timer').map((c) => c.type === 'set-timer' && c.ms), [ROUND_ACK_TIMEOUT_MS])
  assert.equal(rollout.acked('a', 5, 1), true)
  assert.deepEqual(send(10).sent, ['d2'], 'd needs only a: b and c have not answered yet')
  assert.equal(rollout.acked('d', 5, 2), true)
  assert.deepEqual(send(20).sent, ['f3'])
  assert.equal(rollout.acked('a', 5, 1), false, 'an ack counts once')
  assert.equal(rollout.acked('e', 5, 2), false, 'a part not sent yet cannot be acknowledged')
  assert.equal(rollout.acked('b', 4, 1), false, 'nor one of another version')
  for (const [id, round] of [['b', 1], ['c', 1]] as const) rollout.acked(id, 5, round)
  assert.deepEqual(send(30).sent, ['e2'])
  for (const [id, round] of [['e', 2], ['f', 3]] as const) rollout.acked(id, 5, round)
  const end = send(40)
  assert.equal(end.done, true)
  assert.ok(end.cmds.some((c) => c.type === 'rollout-done' && c.version === 5))
  assert.ok(end.cmds.some((c) => c.type === 'clear-timer' && c.timer === 'round'))
})

test('a part that is not acknowledged in time holds back only what waits for it, and only until the timeout', () => {
  const { rollout, send, out } = harness()
  rollout.start(5, plan, 0)
  send(0)
  for (const id of ['b', 'c']) rollout.acked(id, 5, 1)
  assert.deepEqual(send(50).sent, ['e2'])
  rollout.acked('e', 5, 2)
  // a never answers: d (and f behind it) go out when a's part times out.
  rollout.timedOut(out, ROUND_ACK_TIMEOUT_MS)
  const late = send(ROUND_ACK_TIMEOUT_MS)
  assert.deepEqual(late.sent, ['d2'])
  assert.deepEqual(late.cmds.filter((c) => c.type === 'set-timer').map((c) => c.type === 'set-timer' && c.ms), [ROUND_ACK_TIMEOUT_MS], 'the timer is armed for d')
  rollout.acked('d', 5, 2)
  assert.deepEqual(send(ROUND_ACK_TIMEOUT_MS + 5).sent, ['f3'])
  rollout.acked('f', 5, 3)
  assert.equal(send(ROUND_ACK_TIMEOUT_MS + 9).done, true)
})
