import { TypedEmitter } from '../events.js'
import type { Logger } from '../logging.js'
import { relayNumber } from '../wire/relay-id.js'
import type { LiveRelays, MeshRelay, RelaySetChange, RelaySetEvents } from './types.js'

/**
 * A versioned set of live relays. Its owner (the relay, from the controller's tables or the static
 * mesh file; the memory network) calls replace() with every live id; hosted services read it and
 * listen for changes. A replace() that changes nothing leaves the version alone and emits nothing,
 * so owners may call it on every table update.
 */
export class RelaySet implements LiveRelays {
  private readonly events: TypedEmitter<RelaySetEvents>
  private byNumber = new Map<number, MeshRelay>()
  private ids = new Map<string, MeshRelay>()
  private sorted: readonly MeshRelay[] = []
  private _version = 0

  constructor (logger?: Logger) {
    this.events = new TypedEmitter<RelaySetEvents>(logger)
  }

  get version (): number { return this._version }
  get size (): number { return this.sorted.length }
  list (): readonly MeshRelay[] { return this.sorted }
  has (number: number): boolean { return this.byNumber.has(number) }
  get (number: number): MeshRelay | undefined { return this.byNumber.get(number) }
  byId (id: string): MeshRelay | undefined { return this.ids.get(id) }
  onChange (fn: (change: RelaySetChange) => void): () => void { return this.events.on('change', fn) }

  /** Sets the live relays to exactly `ids`; returns the change, or undefined when there was none. */
  replace (ids: Iterable<string>): RelaySetChange | undefined {
    const next = new Map<string, MeshRelay>()
    const added: MeshRelay[] = []
    for (const id of ids) {
      if (next.has(id)) continue
      const r = this.ids.get(id) ?? { id, number: relayNumber(id) }
      next.set(id, r)
      if (!this.ids.has(id)) added.push(r)
    }
    const removed: MeshRelay[] = []
    for (const [id, r] of this.ids) if (!next.has(id)) removed.push(r)
    if (added.length === 0 && removed.length === 0) return undefined
    this.ids = next
    this.byNumber = new Map([...next.values()].map((r) => [r.number, r]))
    this.sorted = [...next.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    this._version++
    const change: RelaySetChange = { version: this._version, added, removed }
    this.events.emit('change', change)
    return change
  }
}
