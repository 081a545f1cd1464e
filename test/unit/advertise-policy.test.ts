import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AdvertisePolicy, canonicalIp } from '../../controller/advertise-policy.js'
import { ConfigError } from '../../src/errors.js'

test('a relay may advertise the address it connects from, IPv4-mapped or not', () => {
  const p = new AdvertisePolicy()
  assert.equal(p.check('203.0.113.5:7001', '203.0.113.5'), undefined)
  assert.equal(p.check('203.0.113.5:7001', '::ffff:203.0.113.5'), undefined)
  assert.equal(p.check('[2001:db8::5]:7001', '2001:DB8:0:0:0:0:0:5'), undefined)
})

test('a relay may not advertise a third party, nor loopback from a remote address', () => {
  const p = new AdvertisePolicy()
  assert.match(p.check('198.51.100.9:22', '203.0.113.5') ?? '', /advertised address 198.51.100.9:22 is not the address this relay connects from \(203.0.113.5\).*--advertise-allow/)
  assert.notEqual(p.check('127.0.0.1:6379', '203.0.113.5'), undefined)
  assert.notEqual(p.check('[::1]:6379', '203.0.113.5'), undefined)
})

test('loopback may advertise loopback: a mesh on one machine', () => {
  const p = new AdvertisePolicy()
  assert.equal(p.check('127.0.0.2:7001', '127.0.0.1'), undefined)
  assert.equal(p.check('127.0.0.1:7001', '::1'), undefined)
  assert.equal(p.check('[::1]:7001', '::ffff:127.0.0.1'), undefined)
})

test('--advertise-allow admits addresses in its CIDRs from any source, and refuses a bad CIDR', () => {
  const p = new AdvertisePolicy(['198.51.100.0/24', 'fd00::/8'])
  assert.equal(p.check('198.51.100.9:7001', '10.0.0.5'), undefined)
  assert.equal(p.check('[fd00::9]:7001', '10.0.0.5'), undefined)
  assert.notEqual(p.check('198.51.101.9:7001', '10.0.0.5'), undefined)
  for (const bad of ['198.51.100.0/33', 'example.com/8', '10.0.0.0/x']) {
    assert.throws(() => new AdvertisePolicy([bad]), (err: unknown) => err instanceof ConfigError && err.message.includes(`'${bad}'`))
  }
})

test('canonicalIp spells each address one way', () => {
  assert.equal(canonicalIp('::ffff:7f00:1'), '127.0.0.1')
  assert.equal(canonicalIp('0:0:0:0:0:0:0:1'), '::1')
  assert.equal(canonicalIp('10.1.2.3'), '10.1.2.3')
})
