import { Keys } from '../../src/store/keys.js'
import type { InstalledTables } from '../../topology/route-diff.js'
import type { RolloutPlan, RoundPart } from '../../topology/rollout-plan.js'
import { ROUND_ACK_TIMEOUT_MS } from '../constants.js'
import type { CommandSink } from './commands.js'
import type { Registry } from './registry.js'

/** One relay's part of one round, as the rollout tracks it. */
interface PartState {
  relay: string
  round: number
  part: RoundPart
  /** Parts this one waits for that are not done yet. */
  waiting: number
  /** Parts that wait for this one. */
  dependents: PartState[]
  /** 'held' until what it waits for is done, 'sent' until acknowledged (or timed out), then 'done'. */
  state: 'held' | 'sent' | 'done'
  sentAt: number
}

type Context = { registry: Registry, installed: InstalledTables, fence: number, now: number }

/**
 * Rollout: a plan (topology/rollout-plan.ts) goes out part by part. A relay's part of round r goes
 * out as soon as the parts of round r − 1 it waits for (`waitsFor`) are acknowledged, or
 * ROUND_ACK_TIMEOUT_MS after they were sent; parts that wait for nothing go out at once. Until M6
 * a whole round waited for every part of the one before, so each round cost the slowest relay's
 * round trip: at 1,000 relays one busy relay held a reroute's 20 parts of round 2 back behind 500
 * acks of round 1 that none of them needed. What was sent is recorded as installed at once: a relay
 * applies messages in order, so that is what it will forward on.
 */
export class Rollout {
  /** The version being rolled out, while one is. */
  version: number | undefined
  private rounds = 0
  private byKey = new Map<string, PartState>()
  /** Parts whose wait is over, to be sent by the next call to next(). */
  private ready: PartState[] = []
  /** Sent parts in the order they were sent (so by deadline); done ones are skipped lazily. */
  private sent: PartState[] = []
  private sentHead = 0
  private remaining = 0
  /** When the armed 'round' timer fires, or undefined when none is armed. */
  private timerAt: number | undefined
  private entries = 0
  private t0 = 0

  get active (): boolean { return this.version !== undefined }

  start (version: number, plan: RolloutPlan, now: number): void {
    this.stop()
    this.version = version
    this.rounds = plan.length
    this.entries = 0
    this.t0 = now
    const all: PartState[] = []
    for (const { round, parts, waitsFor } of plan) {
      for (const [relay, part] of parts) {
        const st: PartState = { relay, round, part, waiting: 0, dependents: [], state: 'held', sentAt: 0 }
        for (const v of waitsFor.get(relay) ?? []) {
          const dep = this.byKey.get(`${v}/${round - 1}`)
          if (dep === undefined) continue
          dep.dependents.push(st)
          st.waiting++
        }
        this.byKey.set(`${relay}/${round}`, st)
        all.push(st)
      }
    }
    this.remaining = all.length
    // Parts that others wait for go first, so their acks come back first.
    const free = all.filter((st) => st.waiting === 0)
    this.ready = [...free.filter((st) => st.dependents.length > 0), ...free.filter((st) => st.dependents.length === 0)]
  }

  /**
   * Sends every part whose wait is over; true when none is left (the rollout is done: table
   * versions persisted and logged).
   */
  next (out: CommandSink, ctx: Context): boolean {
    const version = this.version
    if (version === undefined) return true
    // finish() may append to `ready` while this runs (a part for a relay that is gone).
    for (let i = 0; i < this.ready.length; i++) {
      const st = this.ready[i]
      const s = ctx.registry.get(st.relay)
      if (s?.conn === undefined) { this.finish(st); continue }
      out.push({ type: 'table', relay: st.relay, fence: ctx.fence, version, round: st.round, part: st.part })
      ctx.installed.apply(s.index, st.part)
      s.version = version
      this.entries += st.part.removals.length + Object.keys(st.part.upserts).length
      st.state = 'sent'
      st.sentAt = ctx.now
      this.sent.push(st)
    }
    this.ready = []
    if (this.remaining > 0) { this.armTimer(out, ctx.now); return false }
    if (this.timerAt !== undefined) out.clearTimer('round')
    for (const s of ctx.registry.live()) out.push({ type: 'hset', key: Keys.tableVersions, field: s.id, value: String(s.version) })
    out.log('info', { version, rounds: this.rounds, entries: this.entries, ms: Math.round(ctx.now - this.t0) }, 'tables updated')
    out.push({ type: 'rollout-done', version })
    this.stop()
    return true
  }

  /** A relay acknowledged (or could not be sent) a part; true when that ended a wait (call next()). */
  acked (relay: string, version: number, round: number): boolean {
    if (version !== this.version) return false
    const st = this.byKey.get(`${relay}/${round}`)
    if (st === undefined || st.state !== 'sent') return false
    this.finish(st)
    return true
  }

  /** The ack timeout: parts sent ROUND_ACK_TIMEOUT_MS ago or more are waited for no more (call next()). */
  timedOut (out: CommandSink, now: number): void {
    this.timerAt = undefined
    this.skipDone()
    // The head is the part the timer was armed for, even if the timer fired a little early.
    for (let first = true; this.sentHead < this.sent.length; first = false) {
      const st = this.sent[this.sentHead]
      if (!first && st.sentAt + ROUND_ACK_TIMEOUT_MS > now + 1) break
      out.log('debug', { key: `${st.relay}/${this.version ?? 0}/${st.round}` }, 'table part not acknowledged in time')
      this.finish(st)
      this.skipDone()
    }
  }

  /** Abandons the rollout (deposed, stopped); the caller clears the 'round' timer. */
  stop (): void {
    this.version = undefined
    this.byKey = new Map()
    this.ready = []
    this.sent = []
    this.sentHead = 0
    this.remaining = 0
    this.timerAt = undefined
  }

  private finish (st: PartState): void {
    st.state = 'done'
    this.remaining--
    for (const d of st.dependents) if (--d.waiting === 0) this.ready.push(d)
  }

  private skipDone (): void {
    while (this.sentHead < this.sent.length && this.sent[this.sentHead].state === 'done') this.sentHead++
    // Keep the array from growing without bound over a long rollout.
    if (this.sentHead > 1024 && this.sentHead * 2 > this.sent.length) { this.sent = this.sent.slice(this.sentHead); this.sentHead = 0 }
  }

  /** Arms the 'round' timer for the oldest unacknowledged part, unless it already is. */
  private armTimer (out: CommandSink, now: number): void {
    this.skipDone()
    const head = this.sent[this.sentHead]
    if (head === undefined) return
    const at = head.sentAt + ROUND_ACK_TIMEOUT_MS
    if (this.timerAt === at) return
    this.timerAt = at
    out.setTimer('round', Math.max(0, at - now))
  }
}
