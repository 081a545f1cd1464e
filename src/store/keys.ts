/** Redis key names. Every key lives under the mesh's prefix (default "relaymesh:"). */
export const Keys = {
  /** Hash: relay id → JSON {id, address, capabilities, registeredAt}. */
  relays: 'relays',
  /** Hash: "from|to" → JSON link metrics last reported {rttMs, jitterMs, loss, up, at}. */
  links: 'links',
  /** Integer: topology version, bumped on every route change. */
  topologyVersion: 'topology:version',
  /** Hash: relay id → table version last pushed to that relay. */
  tableVersions: 'tables:versions',
  /** Lease: the controller id that is leader now. */
  leaderLease: 'leader'
} as const
