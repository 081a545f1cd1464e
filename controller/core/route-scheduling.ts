import { COMPUTE_DELAY_MS, LARGE_MESH_COMPUTE_SPACING_MS, LARGE_MESH_RELAYS } from '../constants.js'
import type { CommandSink } from './commands.js'

/**
 * Route scheduling: when the next route computation runs. Reports within COMPUTE_DELAY_MS share
 * one (the debounce; a report of a change asks for no delay). A computation starts at least
 * `spacingMs()` after the previous one ended, its rollout included (reports in between are held
 * and taken in as one batch, report-intake.ts), unless a link went down. One asked for while
 * another is still rolling out runs once that one is done: at once if a link went down, else a
 * spacing later.
 */
export class RouteScheduler {
  private readonly out: CommandSink
  private readonly clock: { monoMs: () => number }
  private readonly spacingMs: () => number
  private armed = false
  private computeAt = 0
  /** The armed timer is for a link gone down: it skips the spacing. */
  private armedUnspaced = false
  /** When the last computation started, then (once its rollout is done) when it ended. */
  private lastComputeAt = -Infinity
  /** A computation is under way: planned and rolling out (or waiting for its version). */
  computing = false
  private again = false
  private againUnspaced = false

  constructor (out: CommandSink, clock: { monoMs: () => number }, spacingMs: () => number) {
    this.out = out
    this.clock = clock
    this.spacingMs = spacingMs
  }

  /**
   * Asks for a computation in `delayMs`, or at the next spaced slot (unless `unspaced`: a link went
   * down); an earlier ask wins.
   */
  schedule (delayMs = COMPUTE_DELAY_MS, unspaced = false): void {
    const now = this.clock.monoMs()
    const at = unspaced ? now + delayMs : Math.max(now + delayMs, this.lastComputeAt + this.spacingMs())
    if (this.armed && at >= this.computeAt) return
    this.armed = true
    this.armedUnspaced = unspaced
    this.computeAt = at
    this.out.setTimer('compute', at - now)
  }

  /** The compute timer fired: true when a computation may start now (else it runs after the current one). */
  fired (): boolean {
    this.armed = false
    if (this.computing) {
      this.again = true
      this.againUnspaced ||= this.armedUnspaced
      return false
    }
    this.computing = true
    this.lastComputeAt = this.clock.monoMs()
    return true
  }

  /**
   * The computation (and its rollout) ended. Returns whether another was asked for meanwhile, and
   * if so whether for a link gone down (`unspaced`: schedule it at once) or not (`spaced`: one
   * spacing from now).
   */
  done (): 'idle' | 'spaced' | 'unspaced' {
    // Spacing counts from here: at 1,000 relays a rollout can take longer than the spacing, and
    // counting from its start would run the next computation the moment it ends, with nothing
    // batched (measured: 50 versions during start-up instead of 27).
    if (this.computing) this.lastComputeAt = this.clock.monoMs()
    this.computing = false
    const again = this.again
    const unspaced = this.againUnspaced
    this.again = false
    this.againUnspaced = false
    return !again ? 'idle' : unspaced ? 'unspaced' : 'spaced'
  }

  /** Stops everything: no computation under way, none armed. */
  reset (): void {
    if (this.armed) this.out.clearTimer('compute')
    this.armed = false
    this.computing = false
    this.again = false
    this.againUnspaced = false
  }
}

/** The compute spacing a mesh of `relays` relays gets by default (controller/constants.ts). */
export function computeSpacingFor (relays: number): number {
  return relays > LARGE_MESH_RELAYS ? LARGE_MESH_COMPUTE_SPACING_MS : 0
}
