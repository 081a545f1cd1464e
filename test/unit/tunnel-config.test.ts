import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError } from '../../src/errors.js'
import { parseHostPort } from '../../src/transport/address.js'
import { EgressPolicy } from '../../relay/tunnel/egress-policy.js'
import { allowSourceList } from '../../relay/tunnel/source-gate.js'
import { parseTunnelSpec } from '../../relay/tunnel/spec.js'

test('parseHostPort accepts IPv4 and bracketed IPv6 and names the bad value otherwise', () => {
  assert.deepEqual(parseHostPort('127.0.0.1:7000', '--listen'), { host: '127.0.0.1', port: 7000, family: 4 })
  assert.deepEqual(parseHostPort('[::1]:7000', '--listen'), { host: '::1', port: 7000, family: 6 })
  for (const bad of ['127.0.0.1', 'localhost:7000', '::1:7000', '127.0.0.1:99999', '127.0.0.1:x', '[::1]7000', '127.0.0.1:0']) {
    assert.throws(() => parseHostPort(bad, '--listen'), (err: unknown) => err instanceof ConfigError && err.message.includes(`'${bad}'`) && err.message.includes('127.0.0.1:7000'), bad)
  }
  assert.equal(parseHostPort('127.0.0.1:0', '--listen', true).port, 0)
})

test('parseTunnelSpec splits listen, destination relay and target', () => {
  const t = parseTunnelSpec('127.0.0.1:9000@c=[::1]:5000')
  assert.equal(t.listen.port, 9000)
  assert.equal(t.dstRelay, 'c')
  assert.deepEqual(t.target, { host: '::1', port: 5000, family: 6 })
  assert.throws(() => parseTunnelSpec('127.0.0.1:9000=c'), /LISTEN_HOST:PORT@DST_RELAY=TARGET_HOST:PORT/)
  assert.throws(() => parseTunnelSpec('127.0.0.1:9000@bad id=127.0.0.1:1'), /'bad id' is invalid/)
})

test('the egress policy admits loopback on the dynamic ports 49152-65535 by default and nothing else', () => {
  const p = new EgressPolicy()
  assert.ok(p.allows('127.0.0.1', 49152))
  assert.ok(p.allows('127.9.9.9', 65535))
  assert.ok(p.allows('::1', 50000))
  assert.ok(p.allows('::ffff:127.0.0.1', 50000))
  for (const [host, port] of [['127.0.0.1', 5000], ['127.0.0.53', 53], ['127.0.0.1', 11211], ['::1', 49151], ['10.0.0.1', 50000], ['8.8.8.8', 53]] as const) {
    assert.ok(!p.allows(host, port), `${host}:${port}`)
  }
  assert.ok(!p.allows('not-an-ip', 50000))
})

test('IPv4-mapped IPv6 addresses match the IPv4 rules they map to, both as targets and as rules', () => {
  const p = new EgressPolicy(['127.0.0.1/32:5000', '[::ffff:10.0.0.0/104]'])
  assert.ok(p.allows('::ffff:127.0.0.1', 5000))
  assert.ok(p.allows('0:0:0:0:0:ffff:7f00:1', 5000))
  assert.ok(!p.allows('::ffff:127.0.0.2', 5000))
  assert.ok(p.allows('10.9.9.9', 1), 'a mapped rule covers the plain IPv4 address')
  assert.ok(p.allows('::ffff:10.9.9.9', 1))
  assert.ok(!p.allows('11.0.0.1', 1))
})

test('broadcast, multicast and unspecified targets are refused whatever the rules say', () => {
  const p = new EgressPolicy(['0.0.0.0/0', '[::/0]'])
  assert.ok(p.allows('127.0.0.1', 5000))
  assert.ok(p.allows('fd00::1', 5000))
  for (const host of ['0.0.0.0', '0.1.2.3', '255.255.255.255', '127.255.255.255', '224.0.0.1', '239.255.255.250', '240.0.0.1', '::', 'ff02::1', 'ff0e::1', '::ffff:224.0.0.1', '::ffff:0.0.0.0']) {
    assert.ok(!p.allows(host, 5000), host)
  }
})

test('--tunnel-allow-source takes CIDRs and names a bad one', () => {
  assert.ok(allowSourceList().check('127.0.0.1'))
  assert.ok(allowSourceList().check('::1', 'ipv6'))
  assert.ok(!allowSourceList().check('10.0.0.1'))
  assert.ok(allowSourceList(['10.1.0.0/16', '[fd00::/8]', '::ffff:192.168.0.0/112']).check('192.168.3.4'))
  for (const bad of ['10.0.0.0/33', 'nope', '10.0.0.0/x', '[::1']) {
    assert.throws(() => allowSourceList([bad]), (err: unknown) => err instanceof ConfigError && err.message.includes(`'${bad}'`) && err.message.includes('127.0.0.0/8'), bad)
  }
})

test('egress rules restrict by CIDR and port ranges', () => {
  const p = new EgressPolicy(['10.0.0.0/8:5000-5010,6000', '[fd00::/8]:443'])
  assert.ok(p.allows('10.1.2.3', 5005))
  assert.ok(p.allows('10.1.2.3', 6000))
  assert.ok(!p.allows('10.1.2.3', 5011))
  assert.ok(!p.allows('127.0.0.1', 5005))
  assert.ok(p.allows('fd00::1', 443))
  assert.ok(!p.allows('fd00::1', 444))
  for (const bad of ['10.0.0.0/33', 'nope/8', '10.0.0.0/8:0', '10.0.0.0/8:9-1', '[fd00::/8']) {
    assert.throws(() => new EgressPolicy([bad]), (err: unknown) => err instanceof ConfigError && err.message.includes(`'${bad}'`), bad)
  }
})
