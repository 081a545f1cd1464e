/**
 * Derives independent PRNG seeds from the scenario seed and a few small integers (murmur3's
 * finaliser over each in turn): neighbouring inputs such as the links a→b and a→c get unrelated
 * streams, and the same inputs always get the same stream.
 */
export function mixSeed (...parts: number[]): number {
  let h = 0x811c9dc5
  for (const p of parts) {
    h = Math.imul(h ^ (p | 0), 0x9e3779b1)
    h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b)
    h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35)
    h ^= h >>> 16
  }
  return h >>> 0
}

/** Which random stream each part of a run draws from, so adding one never shifts another. */
export const Stream = { link: 1, direct: 2, startup: 3, probe: 4 } as const
