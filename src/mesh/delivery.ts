/** An empty buffer for a descriptor that holds no packet. */
const EMPTY = Buffer.alloc(0)

/**
 * What a service handler receives for one packet: { src, epoch, flow, class, payload }. The mesh
 * keeps one of these and overwrites it for every packet, so delivery allocates nothing: copy the
 * fields you keep past the handler's return (MeshHandler says what holds for the bytes). The
 * payload is buf[offset, offset + length); the `payload` getter makes a view of it, which is an
 * allocation, so a per-packet path reads buf, offset and length instead.
 */
export class MeshDelivery {
  /** Source relay number (LiveRelays.get gives its id). */
  src = 0
  /** The source relay's boot id: random, new at every start; a different one means it restarted. */
  epoch = 0
  /** Flow id the source's service chose. */
  flow = 0
  /** Traffic class the source sent with. */
  class = 0
  buf: Buffer = EMPTY
  offset = 0
  length = 0

  /** Describes the next packet. */
  fill (src: number, epoch: number, flow: number, cls: number, buf: Buffer, offset: number, length: number): void {
    this.src = src; this.epoch = epoch; this.flow = flow; this.class = cls
    this.buf = buf; this.offset = offset; this.length = length
  }

  get payload (): Buffer { return this.buf.subarray(this.offset, this.offset + this.length) }
}
