import { FRAME_HEADER_BYTES } from './constants.js'

/**
 * The channel's framing: each message is one frame on the QUIC stream.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                     body length (u32, BE)                     |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |              body: one JSON value, UTF-8 (length bytes)     ...
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * A length of 0 or above the channel's maximum, a body that is not valid UTF-8, or one that is not
 * JSON, is a protocol error: the receiver closes the channel. Nothing is skipped or resynchronised,
 * since a stream that lost its framing cannot be trusted afterwards.
 */

/** A received frame broke the framing rules; `reason` is a short machine-friendly phrase. */
export class FrameError extends Error {
  readonly reason: string

  constructor (reason: string, detail: string) {
    super(`${reason}: ${detail}`)
    this.name = 'FrameError'
    this.reason = reason
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Encodes one message. Throws TypeError when the value has no JSON form (undefined, a function,
 * a BigInt, a cycle) or when its body would exceed `maxBytes`.
 */
export function encodeFrame (msg: unknown, maxBytes: number): Buffer {
  let json: string | undefined
  try {
    json = JSON.stringify(msg)
  } catch (err) {
    throw new TypeError(`message is not JSON-serialisable: ${(err as Error).message}`)
  }
  if (json === undefined) throw new TypeError(`message of type ${typeof msg} has no JSON form`)
  const bodyLen = Buffer.byteLength(json, 'utf8')
  if (bodyLen > maxBytes) throw new TypeError(`message is ${bodyLen} bytes as JSON, above the ${maxBytes}-byte frame limit`)
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyLen)
  frame.writeUInt32BE(bodyLen, 0)
  frame.write(json, FRAME_HEADER_BYTES, 'utf8')
  return frame
}

/** Parses one frame body. Throws FrameError for a body that is not UTF-8 JSON. */
export function parseFrameBody (body: Uint8Array): unknown {
  let text: string
  try {
    text = utf8.decode(body)
  } catch {
    throw new FrameError('bad_utf8', `${body.length}-byte body is not valid UTF-8`)
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new FrameError('bad_json', (err as Error).message)
  }
}

/**
 * Reassembles frame bodies from stream chunks. Chunks are kept as a list and joined once per
 * frame, so a 1 MiB frame arriving in small chunks costs one copy rather than one per chunk.
 * Frames are taken one at a time with next(), so a reader can stop between two frames, for
 * instance to raise the limit once the handshake is over.
 */
export class FrameDecoder {
  private readonly chunks: Buffer[] = []
  private buffered = 0
  private bodyLen = -1

  constructor (private maxBytes: number) {}

  /** Bytes received but not yet returned as a frame. */
  get pending (): number { return this.buffered }

  /** Changes the limit for frames whose header has not been read yet. */
  setMaxBytes (n: number): void { this.maxBytes = n }

  push (chunk: Uint8Array): void {
    if (chunk.length === 0) return
    this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length))
    this.buffered += chunk.length
  }

  /**
   * The next complete frame body, or undefined until more bytes arrive. Throws FrameError on a
   * zero or oversized length as soon as the header is read, before waiting for the body.
   */
  next (): Buffer | undefined {
    if (this.bodyLen < 0) {
      if (this.buffered < FRAME_HEADER_BYTES) return undefined
      const len = this.take(FRAME_HEADER_BYTES).readUInt32BE(0)
      if (len === 0) throw new FrameError('empty_frame', 'frame length is 0')
      if (len > this.maxBytes) throw new FrameError('frame_too_big', `frame length ${len} exceeds the ${this.maxBytes}-byte limit`)
      this.bodyLen = len
    }
    if (this.buffered < this.bodyLen) return undefined
    const body = this.take(this.bodyLen)
    this.bodyLen = -1
    return body
  }

  /** Removes exactly n buffered bytes (n <= buffered). */
  private take (n: number): Buffer {
    const first = this.chunks[0]
    if (first.length >= n) {
      const head = first.subarray(0, n)
      if (first.length === n) this.chunks.shift()
      else this.chunks[0] = first.subarray(n)
      this.buffered -= n
      return head
    }
    const out = Buffer.allocUnsafe(n)
    let off = 0
    while (off < n) {
      const c = this.chunks[0]
      const k = Math.min(c.length, n - off)
      c.copy(out, off, 0, k)
      off += k
      if (k === c.length) this.chunks.shift()
      else this.chunks[0] = c.subarray(k)
    }
    this.buffered -= n
    return out
  }
}
