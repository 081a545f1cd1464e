import type dgram from 'node:dgram'
import type { Logger } from '../../logging.js'
import type { HostPort } from '../address.js'
import { bindUdp, closeUdp, createUdpSocket } from '../udp.js'
import { DelayLine } from './delay-line.js'
import type { ImpairParams } from './model.js'

interface Client {
  host: string
  port: number
  /** Socket toward the target, so the target's replies can be told apart per client. */
  upstream: dgram.Socket
  lastSeen: number
}

export interface ImpairProxyInit {
  listen: HostPort
  to: HostPort
  /** Impairments toward `to` and back toward the client; both default to `params`. */
  forward?: Partial<ImpairParams>
  reverse?: Partial<ImpairParams>
  seed?: number
  maxClients?: number
}

/**
 * A UDP hop with impairments in user space, between clients and one target: what arrives at
 * `listen` goes to `to` through the forward delay line; the target's replies come back through the
 * reverse one to the client that caused them, as through a NAT.
 */
export class ImpairProxy {
  readonly forward: DelayLine
  readonly reverse: DelayLine
  bound: HostPort | undefined
  private readonly init: ImpairProxyInit
  private readonly log: Logger
  private readonly socket: dgram.Socket
  private readonly clients = new Map<string, Client>()
  /** Which client a packet in the forward line belongs to. */
  private readonly owner = new WeakMap<Buffer, Client>()
  private readonly replyTo = new WeakMap<Buffer, Client>()

  constructor (components: { logger: Logger }, init: ImpairProxyInit) {
    this.init = init
    this.log = components.logger.child({ component: 'impair' })
    this.socket = createUdpSocket({ family: init.listen.family })
    const seed = init.seed ?? 1
    this.forward = new DelayLine((buf) => {
      const c = this.owner.get(buf)
      if (c !== undefined) c.upstream.send(buf, this.init.to.port, this.init.to.host)
    }, init.forward, seed)
    this.reverse = new DelayLine((buf) => {
      const c = this.replyTo.get(buf)
      if (c !== undefined) this.socket.send(buf, c.port, c.host)
    }, init.reverse ?? init.forward, seed + 1)
  }

  async start (): Promise<void> {
    this.socket.on('error', (err) => { this.log.warn({ err: err.message }, 'impair socket error') })
    this.socket.on('message', (msg, rinfo) => { this.fromClient(msg, rinfo.address, rinfo.port) })
    this.bound = await bindUdp(this.socket, this.init.listen)
  }

  /** Changes both directions' impairments at once. */
  set (params: Partial<ImpairParams>): void {
    this.forward.model.set(params)
    this.reverse.model.set(params)
  }

  stop (): void {
    this.forward.close()
    this.reverse.close()
    closeUdp(this.socket)
    for (const c of this.clients.values()) closeUdp(c.upstream)
    this.clients.clear()
  }

  private fromClient (msg: Buffer, host: string, port: number): void {
    // A sender on UDP port 0 cannot be answered: the reply's send would throw from a timer.
    if (port === 0) return
    const key = host + '|' + port
    let c = this.clients.get(key)
    if (c === undefined) {
      if (this.clients.size >= (this.init.maxClients ?? 1024)) return
      const upstream = createUdpSocket({ family: this.init.to.family, bufferBytes: 1024 * 1024 })
      const client: Client = { host, port, upstream, lastSeen: 0 }
      upstream.on('error', (err) => { this.log.debug({ err: err.message }, 'impair upstream error') })
      upstream.on('message', (reply) => {
        this.replyTo.set(reply, client)
        this.reverse.push(reply)
      })
      c = client
      this.clients.set(key, c)
    }
    c.lastSeen = Date.now()
    this.owner.set(msg, c)
    this.forward.push(msg)
  }
}
