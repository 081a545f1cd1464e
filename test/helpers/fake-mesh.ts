import { RelaySet } from '../../src/mesh/relay-set.js'
import { checkSend, copyPayload, payloadLength } from '../../src/mesh/send-check.js'
import type { Mesh, MeshHandler, MeshPayload, SendOptions } from '../../src/mesh/types.js'
import { MAX_PAYLOAD } from '../../src/wire/constants.js'
import { Reason, REASON_COUNT } from '../../src/wire/reasons.js'
import { relayNumber } from '../../src/wire/relay-id.js'

export interface SentPacket { dst: number, service: number, flow: number, class: number, payload: Buffer }

/**
 * A Mesh that records what a service sends and counts its drops, for unit tests of one side of a
 * hosted service. Tests of a service talking to itself across relays use MemoryNetwork instead.
 */
export class RecordingMesh implements Mesh {
  readonly self = { id: 'self', number: relayNumber('self') }
  readonly maxPayload = MAX_PAYLOAD
  readonly relays = new RelaySet()
  readonly sent: SentPacket[] = []
  readonly dropped = new Array<number>(REASON_COUNT).fill(0)
  readonly handlers = new Map<number, MeshHandler>()

  send (dst: number, service: number, flow: number, payload: MeshPayload, opts: SendOptions): Reason {
    checkSend(service, opts)
    const buf = Buffer.alloc(payloadLength(payload))
    copyPayload(payload, buf, 0)
    this.sent.push({ dst, service, flow, class: opts.class, payload: buf })
    return Reason.OK
  }

  register (service: number, handler: MeshHandler): () => void {
    this.handlers.set(service, handler)
    return () => { this.handlers.delete(service) }
  }

  countDrop (reason: Reason): void { this.dropped[reason]++ }
}
