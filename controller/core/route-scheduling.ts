import { COMPUTE_DELAY_MS, LARGE_MESH_COMPUTE_SPACING_MS, LARGE_MESH_RELAYS } from '../constants.js'
import type { CommandSink } from './commands.js'

/**
 * Route scheduling: when the next route computation runs. Reports within COMPUTE_DELAY_MS share
 * one (the debounce; a report of a change asks for no delay), computations are at least
 * `spacingMs()` apart (reports in between are held and taken in as one batch, report-intake.ts)
 * unless a link went down, and one asked for while another is still rolling out runs once that
 * one is done.
 */
export class RouteScheduler {
  private readonly out: CommandSink
  private readonly clock: { monoMs: () => number }
  private readonly spacingMs: () => number
  private armed = false
  private computeAt = 0
  private lastComputeAt = -Infinity
  /** A computation is under way: planned and rolling out (or waiting for its version). */
  computing = false
  private again = false

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
    this.computeAt = at
    this.out.setTimer('compute', at - now)
  }

  /** The compute timer fired: true when a computation may start now (else it runs after the current one). */
  fired (): boolean {
    this.armed = false
    if (this.computing) { this.again = true; return false }
    this.computing = true
    this.lastComputeAt = this.clock.monoMs()
    return true
  }

  /** The computation (and its rollout) ended: true when another was asked for meanwhile. */
  done (): boolean {
    this.computing = false
    const again = this.again
    this.again = false
    return again
  }

  /** Stops everything: no computation under way, none armed. */
  reset (): void {
    if (this.armed) this.out.clearTimer('compute')
    this.armed = false
    this.computing = false
    this.again = false
  }
}

/** The compute spacing a mesh of `relays` relays gets by default (controller/constants.ts). */
export function computeSpacingFor (relays: number): number {
  return relays > LARGE_MESH_RELAYS ? LARGE_MESH_COMPUTE_SPACING_MS : 0
}
