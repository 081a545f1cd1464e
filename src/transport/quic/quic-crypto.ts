import { createHmac, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto'
import type { QUICClientCrypto, QUICServerCrypto } from '@matrixai/quic'

/**
 * The crypto objects @matrixai/quic asks for. The client needs random bytes for its connection
 * ids; the server signs and verifies its stateless-retry tokens. The token key is fresh per
 * server: tokens only need to outlive one handshake, and a restart may as well invalidate them.
 */

export function clientCrypto (): QUICClientCrypto {
  return {
    ops: {
      randomBytes: async (data: ArrayBuffer): Promise<void> => { randomFillSync(new Uint8Array(data)) }
    }
  }
}

export function serverCrypto (): QUICServerCrypto {
  const key = randomBytes(32)
  const mac = (k: ArrayBuffer, data: ArrayBuffer): Buffer => createHmac('sha256', Buffer.from(k)).update(Buffer.from(data)).digest()
  return {
    key: toArrayBuffer(key),
    ops: {
      sign: async (k, data) => toArrayBuffer(mac(k, data)),
      verify: async (k, data, sig) => {
        const expected = mac(k, data)
        return sig.byteLength === expected.length && timingSafeEqual(expected, Buffer.from(sig))
      }
    }
  }
}

function toArrayBuffer (b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer
}
