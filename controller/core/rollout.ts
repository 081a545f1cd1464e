import { Keys } from '../../src/store/keys.js'
import type { InstalledTables } from '../../topology/route-diff.js'
import type { RolloutPlan } from '../../topology/rollout-plan.js'
import { ROUND_ACK_TIMEOUT_MS } from '../constants.js'
import type { CommandSink } from './commands.js'
import type { Registry } from './registry.js'

/**
 * Rollout: a plan (topology/rollout-plan.ts) goes out round by round, each round once every relay
 * in the previous one has acknowledged, or after ROUND_ACK_TIMEOUT_MS. What was sent is recorded as
 * installed at once: a relay applies messages in order, so that is what it will forward on.
 */
export class Rollout {
  private plan: RolloutPlan | undefined
  /** The version being rolled out, while one is. */
  version: number | undefined
  private i = 0
  private round = 0
  private readonly pending = new Set<string>()
  private entries = 0
  private t0 = 0

  get active (): boolean { return this.plan !== undefined }

  start (version: number, plan: RolloutPlan, now: number): void {
    this.plan = plan
    this.version = version
    this.i = 0
    this.entries = 0
    this.t0 = now
  }

  /**
   * Sends the next round that reaches some relay; true when none is left (the rollout is done:
   * table versions persisted and logged).
   */
  next (out: CommandSink, ctx: { registry: Registry, installed: InstalledTables, fence: number, now: number }): boolean {
    const plan = this.plan
    const version = this.version
    if (plan === undefined || version === undefined) return true
    while (this.i < plan.length) {
      const { round, parts } = plan[this.i++]
      this.round = round
      for (const [id, part] of parts) {
        const s = ctx.registry.get(id)
        if (s?.conn === undefined) continue
        out.push({ type: 'table', relay: id, fence: ctx.fence, version, round, part })
        ctx.installed.apply(s.index, part)
        s.version = version
        this.entries += part.removals.length + Object.keys(part.upserts).length
        this.pending.add(id)
      }
      if (this.pending.size > 0) { out.setTimer('round', ROUND_ACK_TIMEOUT_MS); return false }
    }
    for (const s of ctx.registry.live()) out.push({ type: 'hset', key: Keys.tableVersions, field: s.id, value: String(s.version) })
    out.log('info', { version, rounds: plan.length, entries: this.entries, ms: Math.round(ctx.now - this.t0) }, 'tables updated')
    out.push({ type: 'rollout-done', version })
    this.stop()
    return true
  }

  /** A relay acknowledged (or could not be sent) a part; true when that completes the round. */
  acked (relay: string, version: number, round: number, out: CommandSink): boolean {
    if (version !== this.version || round !== this.round || !this.pending.delete(relay)) return false
    if (this.pending.size > 0) return false
    out.clearTimer('round')
    return true
  }

  /** The round's ack timeout: whoever has not acknowledged is waited for no more. */
  timedOut (out: CommandSink): void {
    for (const id of this.pending) out.log('debug', { key: `${id}/${this.version}/${this.round}` }, 'table round not acknowledged in time')
    this.pending.clear()
  }

  /** Abandons the rollout (deposed, stopped). */
  stop (): void {
    this.plan = undefined
    this.version = undefined
    this.pending.clear()
  }
}
