import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError } from '../../src/errors.js'
import { parseHostPort } from '../../src/transport/address.js'
import { EgressPolicy } from '../../relay/tunnel/egress-policy.js'
import { targetPrefix } from '../../relay/tunnel/ingress.js'
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

test('the egress policy admits loopback by default and nothing else', () => {
  const p = new EgressPolicy()
  assert.ok(p.allows('127.0.0.1', 5000))
  assert.ok(p.allows('127.9.9.9', 1))
  assert.ok(p.allows('::1', 5000))
  assert.ok(!p.allows('10.0.0.1', 5000))
  assert.ok(!p.allows('8.8.8.8', 53))
  assert.ok(!p.allows('not-an-ip', 1))
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

test('the tunnel target prefix encodes family, port and address', () => {
  assert.deepEqual([...targetPrefix({ host: '127.0.0.1', port: 5000, family: 4 })], [4, 0x13, 0x88, 127, 0, 0, 1])
  const v6 = targetPrefix({ host: 'fd00::1', port: 1, family: 6 })
  assert.equal(v6.length, 19)
  assert.equal(v6[0], 6)
  assert.equal(v6.readUInt16BE(3), 0xfd00)
  assert.equal(v6[18], 1)
})
