import type { QUICConnection } from '@matrixai/quic'
import type { Logger } from '../../logging.js'

/**
 * A FIFO mutex with the one method @matrixai/quic's connection uses on its receive lock,
 * `withF(f)`. The library's Lock (@matrixai/async-locks) builds, on every acquisition, a timeout
 * error with a captured stack, an AbortController and a cancellable Timer, and aborts them on
 * release: on a controller serving 300 relays that was about a fifth of its CPU, more than the
 * controller's own work. This one costs a promise when the lock is free.
 */
export class RecvLock {
  private locked: boolean
  private readonly waiters: Array<() => void> = []

  /** `after`: the lock this one replaces, still held; this one stays locked until it resolves. */
  constructor (after?: Promise<unknown>) {
    this.locked = after !== undefined
    after?.then(() => { this.release() }, () => { this.release() })
  }

  isLocked (): boolean { return this.locked }

  async withF<T> (f: () => Promise<T>): Promise<T> {
    if (this.locked) await new Promise<void>((resolve) => { this.waiters.push(resolve) })
    else this.locked = true
    try {
      return await f()
    } finally {
      this.release()
    }
  }

  /** Hands the lock to the next waiter (it stays locked), or frees it. */
  private release (): void {
    const next = this.waiters.shift()
    if (next !== undefined) next()
    else this.locked = false
  }
}

interface LibraryLock { withF: unknown, isLocked?: () => boolean, waitForUnlock?: () => PromiseLike<unknown> }

/**
 * Gives `conn` a RecvLock in place of the library's. Returns false, changing nothing, when the
 * connection does not have the field this expects (another library version): it then works as
 * before, only slower.
 */
export function lightenRecvLock (conn: QUICConnection): boolean {
  const c = conn as unknown as { recvLock?: LibraryLock | RecvLock }
  const old = c.recvLock
  if (old === undefined || old instanceof RecvLock) return old !== undefined
  if (typeof old.withF !== 'function' || typeof old.isLocked !== 'function' || typeof old.waitForUnlock !== 'function') return false
  c.recvLock = new RecvLock(old.isLocked() ? Promise.resolve(old.waitForUnlock()) : undefined)
  return true
}

let warned = false

/** Says once per process that connections keep the library's lock (lightenRecvLock failed). */
export function warnHeavyLock (log: Logger): void {
  if (warned) return
  warned = true
  log.warn('this @matrixai/quic has no receive lock of the expected shape: connections keep its own, which costs more CPU per packet')
}
