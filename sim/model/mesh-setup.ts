import { numberRelays } from '../../src/wire/relay-id.js'
import { oneWayDelayMs, type Scenario } from '../scenario.js'
import { DEFAULT_CONTROL_DELAY_MS } from './constants.js'
import type { MeshIndex } from './sim-relay.js'

/**
 * Indexes the scenario's relays (scenario order) and numbers them as the wire does; two ids with
 * the same relay number are refused here, as a real mesh refuses them.
 */
export function meshIndexOf (s: Scenario): MeshIndex {
  const ids = s.relays.map((r) => r.id)
  const numbers = numberRelays(ids)
  return {
    ids,
    index: new Map(ids.map((id, i) => [id, i])),
    byNumber: new Map(ids.map((id, i) => [numbers.get(id) as number, i])),
    // 10.x.y.z:7000, one per relay; valid for the address parser, never dialled.
    address: (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:7000`
  }
}

/**
 * Each relay's one-way control-channel delay (ms). The controller sits at the first relay's
 * location; without locations, or given `fixedMs`, every relay gets the same delay.
 */
export function controlDelays (s: Scenario, fixedMs?: number): Float64Array {
  const at = s.relays[0].location
  return Float64Array.from(s.relays, (r) => {
    if (fixedMs !== undefined) return fixedMs
    return at !== undefined && r.location !== undefined ? oneWayDelayMs(at, r.location) : DEFAULT_CONTROL_DELAY_MS
  })
}
