import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError } from '../../src/errors.js'
import { numberRelays, relayNumber } from '../../src/wire/index.js'
import { checkRelayId } from '../../src/wire/relay-id.js'

test('relayNumber is the documented hash of the id and is stable', () => {
  // docs/wire.md: first four bytes, big-endian, of SHA-256("relaymesh v1 relay number\0" || id).
  assert.equal(relayNumber('a'), relayNumber('a'))
  assert.notEqual(relayNumber('a'), relayNumber('b'))
  assert.ok(relayNumber('a') > 0 && relayNumber('a') <= 0xffffffff)
})

test('relayNumber refuses an invalid id with a one-line message naming it', () => {
  assert.throws(() => relayNumber('has space'), (err: unknown) => err instanceof ConfigError && err.message.includes("'has space'") && !err.message.includes('\n'))
  assert.throws(() => relayNumber(''), ConfigError)
  assert.throws(() => relayNumber('x'.repeat(64)), ConfigError)
})

test('numberRelays maps every id and accepts distinct ids', () => {
  const m = numberRelays(['a', 'b', 'c'])
  assert.equal(m.size, 3)
  assert.equal(new Set(m.values()).size, 3)
})

test('ids that name built-in JavaScript properties are refused everywhere an id enters', () => {
  for (const id of ['constructor', 'toString', 'valueOf', 'hasOwnProperty']) {
    assert.throws(() => { checkRelayId(id) }, /reserved/)
  }
  checkRelayId('constructors')
})

test('relayNumber remembers numbers without changing them, and still refuses what it refused', async () => {
  const { createHash } = await import('node:crypto')
  const expected = (id: string): number => createHash('sha256').update('relaymesh v1 relay number\0').update(id, 'utf8').digest().readUInt32BE(0)
  for (let i = 0; i < 2; i++) {
    for (const id of ['a', 'r0001', 'eu-west.1']) assert.equal(relayNumber(id), expected(id), `${id}, call ${i + 1}`)
    assert.throws(() => relayNumber('constructor'), ConfigError)
    assert.throws(() => relayNumber('has space'), ConfigError)
  }
})
