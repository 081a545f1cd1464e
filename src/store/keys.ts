/** Redis key names. Every key lives under the mesh's prefix (default "relaymesh:"). */
export const Keys = {
  /** Hash: relay id → JSON {id, address, capabilities, registeredAt}. */
  relays: 'relays',
  /** Hash: relay id → JSON array of the link entries in that relay's last report. */
  links: 'links',
  /** Integer: topology version, bumped on every route change. */
  topologyVersion: 'topology:version',
  /** Hash: relay id → table version last pushed to that relay. */
  tableVersions: 'tables:versions',
  /** Lease: the controller id that is leader now. */
  leaderLease: 'leader',
  /** Integer: the leader lease's fencing number, raised on every acquire (fenceKey). */
  leaderFence: 'leader:fence'
} as const

/** The key holding lease `name`'s fencing number. */
export function fenceKey (name: string): string { return `${name}:fence` }
