import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Registry } from '../../controller/core/registry.js'

let conns = 0
function channel (): number { return ++conns }

function reg (id: string, boot: string, address = `127.0.0.1:${7000 + id.charCodeAt(0)}`): { id: string, address: string, boot: string, caps: string[], tableVersion: number } {
  return { id, address, boot, caps: [], tableVersion: 2 }
}

/** The registry as the core uses it: admit, then register (RelayIndex numbers do not matter here). */
class Sessions {
  readonly r = new Registry()
  check (conn: number, m: ReturnType<typeof reg>): ReturnType<Registry['admit']> { return this.r.admit(conn, m) }
  register (conn: number, m: ReturnType<typeof reg>): ReturnType<Registry['register']> { return this.r.register(conn, 0, m) }
  restore (id: string, address: string, caps: string[], now: number): void { this.r.restore(id, 0, address, caps, now) }
  disconnect (conn: number, now: number): ReturnType<Registry['disconnect']> { return this.r.disconnect(conn, now) }
  expire (now: number, max: number): ReturnType<Registry['expire']> { return this.r.expire(now, max) }
  get (id: string): ReturnType<Registry['get']> { return this.r.get(id) }
  all (): ReturnType<Registry['all']> { return this.r.all() }
  live (): ReturnType<Registry['live']> { return this.r.live() }
  ofConn (conn: number): ReturnType<Registry['ofConn']> { return this.r.ofConn(conn) }
}

test('a second live process claiming a registered id is refused', () => {
  const s = new Sessions()
  const ch1 = channel()
  s.register(ch1, reg('a', 'boot-one-1'))
  const v = s.check(channel(), reg('a', 'boot-two-2'))
  assert.equal(v.ok, false)
  assert.match(v.ok ? '' : v.reason, /already registered/)
})

test('the same process reconnecting replaces its old channel', () => {
  const s = new Sessions()
  const ch1 = channel()
  s.register(ch1, reg('a', 'boot-one-1'))
  const ch2 = channel()
  const v = s.check(ch2, reg('a', 'boot-one-1'))
  assert.deepEqual(v, { ok: true, replaced: ch1 })
  const session = s.register(ch2, reg('a', 'boot-one-1'))
  assert.equal(session.conn, ch2)
  assert.equal(session.version, 2)
  assert.equal(s.ofConn(ch1), undefined)
})

test('an id may be taken over once its channel has closed', () => {
  const s = new Sessions()
  const ch1 = channel()
  s.register(ch1, reg('a', 'boot-one-1'))
  s.disconnect(ch1, 0)
  assert.equal(s.check(channel(), reg('a', 'boot-two-2')).ok, true)
  assert.equal(s.live().length, 0)
})

test('two live relays may not share an address, and a connection may not change its id', () => {
  const s = new Sessions()
  const ch1 = channel()
  s.register(ch1, reg('a', 'boot-one-1', '127.0.0.1:7001'))
  const v = s.check(channel(), reg('b', 'boot-two-2', '127.0.0.1:7001'))
  assert.match(v.ok ? '' : v.reason, /already registered by relay 'a'/)
  const w = s.check(ch1, reg('c', 'boot-one-1'))
  assert.match(w.ok ? '' : w.reason, /cannot become 'c'/)
})

test('a relay disconnected for the expiry is forgotten; a live one, or one offline for less, is kept', () => {
  const s = new Sessions()
  const ch1 = channel()
  s.register(ch1, reg('a', 'boot-one-1'))
  s.register(channel(), reg('b', 'boot-two-2'))
  s.restore('c', '127.0.0.1:7099', [], 500)
  s.disconnect(ch1, 1_000)
  assert.deepEqual(s.expire(10_499, 10_000).map((x) => x.id), [])
  assert.deepEqual(s.expire(10_500, 10_000).map((x) => x.id), ['c'])
  assert.deepEqual(s.expire(11_000, 10_000).map((x) => x.id), ['a'])
  assert.equal(s.get('a'), undefined)
  assert.deepEqual([...s.all()].map((x) => x.id), ['b'])
  assert.deepEqual(s.expire(1e9, 10_000), [], 'a live relay never expires')
})

test('a relay that reconnects before the expiry is not forgotten', () => {
  const s = new Sessions()
  const ch1 = channel()
  s.register(ch1, reg('a', 'boot-one-1'))
  s.disconnect(ch1, 0)
  s.register(channel(), reg('a', 'boot-one-1'))
  assert.deepEqual(s.expire(1e9, 10_000), [])
})
