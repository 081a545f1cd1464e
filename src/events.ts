import type { Logger } from './logging.js'

type Listener<A extends unknown[]> = (...args: A) => void

/**
 * A small typed event emitter. A listener that throws is logged and skipped: it never breaks the
 * emitter or the other listeners (the way mediasoup's safeEmit behaves).
 */
export class TypedEmitter<Events extends { [K in keyof Events]: unknown[] }> {
  private readonly listeners = new Map<keyof Events, Array<Listener<any>>>()
  private readonly log: Logger | undefined

  constructor (log?: Logger) {
    this.log = log
  }

  on<K extends keyof Events>(event: K, fn: Listener<Events[K]>): () => void {
    const list = this.listeners.get(event) ?? []
    list.push(fn)
    this.listeners.set(event, list)
    return () => { this.off(event, fn) }
  }

  off<K extends keyof Events>(event: K, fn: Listener<Events[K]>): void {
    const list = this.listeners.get(event)
    if (list === undefined) return
    const i = list.indexOf(fn)
    if (i >= 0) list.splice(i, 1)
  }

  emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    const list = this.listeners.get(event)
    if (list === undefined) return
    for (const fn of [...list]) {
      try {
        fn(...args)
      } catch (err) {
        this.log?.error({ err: (err as Error).message, event: String(event) }, 'event listener threw')
      }
    }
  }
}
