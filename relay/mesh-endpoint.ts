import type { Logger } from '../src/logging.js'
import { MeshDelivery } from '../src/mesh/delivery.js'
import { RelaySet } from '../src/mesh/relay-set.js'
import { checkSend, checkService, copyPayload, payloadLength } from '../src/mesh/send-check.js'
import type { Mesh, MeshHandler, MeshPayload, MeshRelay, SendOptions } from '../src/mesh/types.js'
import { Flag, HEADER_LENGTH, MAX_PAYLOAD, MAX_SEALED_PAYLOAD, PacketType } from '../src/wire/constants.js'
import type { Originator } from '../src/wire/originator.js'
import { Reason } from '../src/wire/reasons.js'
import type { DataPlane } from './data-plane.js'

export interface RelayMeshComponents {
  plane: DataPlane
  originator: Originator
  logger: Logger
}

/**
 * The relay's side of the mesh service interface (src/mesh/types.ts): what hosted services
 * (tunnels, later signaling and the SFU) see of the relay. A send becomes one originated DATA packet;
 * a delivered packet fills the one MeshDelivery this endpoint owns, so neither direction allocates
 * beyond the packet buffer itself. The relay keeps `relays` current from its forwarding table or
 * its static mesh file.
 */
export class RelayMesh implements Mesh {
  readonly self: MeshRelay
  /**
   * The wire's payload ceiling for a sealed payload; services with a tighter budget (tunnels) keep
   * their own. A preEncrypted send may carry AEAD_TAG_LENGTH bytes more.
   */
  readonly maxPayload = MAX_SEALED_PAYLOAD
  readonly relays: RelaySet
  private readonly plane: DataPlane
  private readonly originator: Originator
  private readonly delivery = new MeshDelivery()

  constructor (components: RelayMeshComponents, init: { id: string }) {
    this.plane = components.plane
    this.originator = components.originator
    this.self = { id: init.id, number: components.originator.src }
    this.relays = new RelaySet(components.logger.child({ component: 'mesh' }))
    this.relays.replace([init.id])
  }

  send (dst: number, service: number, flow: number, payload: MeshPayload, opts: SendOptions): Reason {
    checkSend(service, opts)
    const len = payloadLength(payload)
    const clear = opts.preEncrypted === true
    if (len > (clear ? MAX_PAYLOAD : MAX_SEALED_PAYLOAD)) { this.plane.countDrop(Reason.TOO_BIG); return Reason.TOO_BIG }
    const buf = this.originator.begin(PacketType.DATA, dst, service, flow, clear ? Flag.CLEAR : 0, opts.class, len)
    copyPayload(payload, buf, HEADER_LENGTH)
    return this.plane.originate(buf)
  }

  register (service: number, handler: MeshHandler): () => void {
    checkService(service)
    const d = this.delivery
    // The data plane hands over its reused header and the datagram node:dgram gave it (a new
    // buffer per datagram, never reused: MeshHandler's promise rests on that).
    this.plane.registerService(service, (h, buf) => {
      d.fill(h.src, h.srcBoot, h.flow, h.trafficClass, buf, HEADER_LENGTH, h.payloadLength)
      handler(d)
    })
    let registered = true
    return () => {
      if (registered) this.plane.unregisterService(service)
      registered = false
    }
  }

  countDrop (reason: Reason): void { this.plane.countDrop(reason) }
}
