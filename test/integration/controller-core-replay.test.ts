import assert from 'node:assert/strict'
import { test } from 'node:test'
import { systemClock } from '../../src/clock.js'
import type { RelayMessage } from '../../src/control/messages.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import type { HostPort } from '../../src/transport/address.js'
import { Controller, type CoreRecord } from '../../controller/controller.js'
import { ControllerCore } from '../../controller/core/controller-core.js'
import type { CoreEvent } from '../../controller/core/types.js'
import { VirtualClock } from '../../sim/model/virtual-clock.js'
import { MeshHarness } from '../helpers/mesh-harness.js'

/**
 * The daemon is a shell around the controller core: given the same events at the same times, a
 * fresh core on model mode's virtual clock must answer with the same commands in the same order.
 *
 * A real controller and three real relays (QUIC control channels, UDP probes) run a small mesh
 * through start-up, a link outage and a relay leaving. The shell records every event its core
 * handled, and for those made from a relay message, the message itself. The replay rebuilds each
 * such event from the message as the core's event types define it (not from what the shell made of
 * it), so a shell that translates a message wrongly fails here.
 */

/** What a relay message means to the core (controller/core/types.ts); `prev` gives what the shell adds. */
function eventOf (m: { relay: string | undefined, msg: RelayMessage }, prev: CoreEvent): CoreEvent {
  const msg = m.msg
  switch (msg.type) {
    case 'register': {
      const p = prev as CoreEvent & { type: 'register' }
      return { type: 'register', conn: p.conn, relay: msg.id, address: msg.address, boot: msg.boot, caps: msg.caps, tableVersion: msg.table_version, table: msg.table, wallMs: p.wallMs }
    }
    case 'report': return { type: 'report', relay: msg.report.relay, report: msg.report }
    case 'ack': return { type: 'ack', relay: m.relay as string, version: msg.version, round: msg.round }
    // The shell answers the address check itself (controller/address-checks.ts); the core never sees it.
    case 'address':
    case 'want_keys': throw new Error(`a ${msg.type} message is recorded as a core event`)
  }
}

test('a fresh core replaying the events the daemon\'s core received gives the same commands in the same order', async () => {
  const records: CoreRecord[] = []
  const h = new MeshHarness()
  await h.init()
  const c = new Controller({ clock: systemClock, logger: h.log, store: new MemoryStore(systemClock), recorder: (r) => { records.push(structuredClone(r)) } }, {
    control: { host: '127.0.0.1', port: 0, family: 4 }, meshKey: h.meshKey
  })
  await c.start()
  h.controller = c
  h.controllerAddrs = [c.address as HostPort]
  try {
    for (const id of ['a', 'b', 'c']) await h.startRelay(id)
    // a–b–c is the cheap way from a to c; a–c direct is the fallback.
    h.impair('a', 'b', { delayMs: 5 })
    h.impair('b', 'c', { delayMs: 5 })
    h.impair('a', 'c', { delayMs: 60 })
    await h.until('a routes to c through b', () => h.nextHop('a', 'c') === 'b' && h.nextHop('c', 'a') === 'b', 60_000)
    h.impair('a', 'b', { outage: true })
    await h.until('a routes to c directly', () => h.nextHop('a', 'c') === 'c' && c.installedTables().get('a')?.get('c')?.nextHop === 'c', 60_000)
    await h.relay('b').stop()
    h.relays.delete('b')
    await h.until('the controller sees b leave', () => records.some((r) => r.event.type === 'disconnect'), 60_000)
  } finally {
    await h.stop()
  }

  const kinds = new Set(records.map((r) => r.event.type))
  for (const k of ['start', 'elected', 'restored', 'register', 'report', 'ack', 'timer', 'version', 'disconnect', 'stop']) assert.ok(kinds.has(k as CoreEvent['type']), `the run gave the core a ${k} event`)
  const sent = records.flatMap((r) => r.commands.map((x) => x.type))
  assert.ok(sent.includes('table') && sent.includes('neighbours'), 'the run sent tables and neighbours')

  const clock = new VirtualClock()
  const core = new ControllerCore(c.coreOptions)
  for (const [i, r] of records.entries()) {
    clock.runUntil(r.at)
    const event = r.message === undefined ? r.event : eventOf(r.message, r.event)
    const got = core.handle(event, clock.monoMs())
    assert.deepEqual(got, r.commands, `event ${i} (${r.event.type} at ${r.at.toFixed(1)} ms) gives the commands the daemon's core gave`)
  }
})
