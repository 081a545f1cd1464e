import { SETTLE_MAX_MS } from '../constants.js'
import type { CommandSink } from './commands.js'
import type { Registry } from './registry.js'

/**
 * Settling. A leader that found no links in the store (a memory store, a first start) settles
 * before it selects neighbours or computes: until every live relay has reported once, or
 * SETTLE_MAX_MS, it takes in reports of whatever links relays probe now. A selection made with no
 * RTTs would be all random draws, and routes computed over the first few reports would send
 * traffic over half a graph: at 1,000 relays that blacked out every flow for 4 s after a restart.
 */
export class Settling {
  active = false
  private readonly reported = new Set<string>()

  begin (out: CommandSink): void {
    this.active = true
    this.reported.clear()
    out.setTimer('settle', SETTLE_MAX_MS)
  }

  /** A report from `relay` while settling. */
  note (relay: string): void { if (this.active) this.reported.add(relay) }

  /** Settling may end: every live relay has reported (and at least one is live). */
  settled (registry: Registry): boolean {
    if (!this.active) return false
    const live = registry.live()
    return live.length > 0 && live.every((s) => this.reported.has(s.id))
  }

  /** Ends settling; false when it was not settling. */
  end (out: CommandSink): boolean {
    if (!this.active) return false
    this.active = false
    this.reported.clear()
    out.clearTimer('settle')
    return true
  }
}
