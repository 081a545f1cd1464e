import { CONVERGENCE_QUIET_S } from './types.js'

/**
 * Convergence after an event at `eventS`: the time from the event to the last route-table change
 * it caused. Changes are followed from the event while each comes within CONVERGENCE_QUIET_S of
 * the previous one (the event itself counts as the first), and only until `untilS` (the next
 * event, or the end). null when no table changed in that chain. Times in seconds; result in ms.
 */
export function convergenceMs (eventS: number, changesS: number[], untilS: number): number | null {
  let last = eventS
  let any = false
  for (const c of [...changesS].sort((a, b) => a - b)) {
    if (c < eventS) continue
    if (c >= untilS || c - last > CONVERGENCE_QUIET_S) break
    last = c
    any = true
  }
  return any ? Math.round((last - eventS) * 1000) : null
}
