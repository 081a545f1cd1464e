import type { HandshakeIo } from '../../src/transport/quic/auth.js'

/** Two connected in-memory ends. Messages go through JSON, as they do on the wire. */
export function pipePair (): [HandshakeIo, HandshakeIo, Array<Record<string, unknown>>] {
  const seen: Array<Record<string, unknown>> = []
  const make = (inbox: unknown[], waiters: Array<(m: unknown) => void>, peerInbox: unknown[], peerWaiters: Array<(m: unknown) => void>): HandshakeIo => ({
    read: async () => await new Promise((resolve) => {
      if (inbox.length > 0) resolve(inbox.shift())
      else waiters.push(resolve)
    }),
    send: async (msg) => {
      const copy = JSON.parse(JSON.stringify(msg)) as Record<string, unknown>
      seen.push(copy)
      const w = peerWaiters.shift()
      if (w !== undefined) w(copy)
      else peerInbox.push(copy)
    }
  })
  const aIn: unknown[] = []
  const bIn: unknown[] = []
  const aW: Array<(m: unknown) => void> = []
  const bW: Array<(m: unknown) => void> = []
  return [make(aIn, aW, bIn, bW), make(bIn, bW, aIn, aW), seen]
}
