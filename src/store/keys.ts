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
  leaderLease: 'leader'
} as const
