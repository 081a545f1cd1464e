import { test } from 'node:test'
import assert from 'node:assert/strict'
import { hostAllowed, isLoopback } from '../../src/http.js'

const at = (address: string, port: number) => ({ address, port })

test('hostAllowed takes the bound IP and port, and localhost on a loopback bind', () => {
  assert.equal(hostAllowed('127.0.0.1:8080', at('127.0.0.1', 8080)), true)
  assert.equal(hostAllowed('localhost:8080', at('127.0.0.1', 8080)), true)
  assert.equal(hostAllowed('LOCALHOST:8080', at('127.0.0.1', 8080)), true)
  assert.equal(hostAllowed('[::1]:8080', at('::1', 8080)), true)
  assert.equal(hostAllowed('[0:0::1]:8080', at('::1', 8080)), true)
  assert.equal(hostAllowed('localhost:8080', at('::1', 8080)), true)
  assert.equal(hostAllowed('10.0.0.5', at('10.0.0.5', 80)), true)
})

test('hostAllowed refuses other names, other addresses and other ports', () => {
  assert.equal(hostAllowed(undefined, at('127.0.0.1', 8080)), false)
  assert.equal(hostAllowed('', at('127.0.0.1', 8080)), false)
  assert.equal(hostAllowed('attacker.example:8080', at('127.0.0.1', 8080)), false)
  assert.equal(hostAllowed('127.0.0.1.attacker.example:8080', at('127.0.0.1', 8080)), false)
  assert.equal(hostAllowed('127.0.0.1:8081', at('127.0.0.1', 8080)), false)
  assert.equal(hostAllowed('127.0.0.1', at('127.0.0.1', 8080)), false)
  assert.equal(hostAllowed('127.0.0.2:8080', at('127.0.0.1', 8080)), false)
  assert.equal(hostAllowed('localhost:8080', at('10.0.0.5', 8080)), false)
  assert.equal(hostAllowed('evil@127.0.0.1:8080', at('127.0.0.1', 8080)), false)
  assert.equal(hostAllowed('127.0.0.1:8080/x', at('127.0.0.1', 8080)), false)
  assert.equal(hostAllowed('[::1', at('::1', 8080)), false)
})

test('hostAllowed on a wildcard bind takes any IP literal and localhost, never a name', () => {
  assert.equal(hostAllowed('192.0.2.7:9000', at('0.0.0.0', 8080)), true)
  assert.equal(hostAllowed('[2001:db8::1]:8080', at('::', 8080)), true)
  assert.equal(hostAllowed('localhost:1234', at('0.0.0.0', 8080)), true)
  assert.equal(hostAllowed('relay1.example.net:8080', at('0.0.0.0', 8080)), false)
  assert.equal(hostAllowed('attacker.example', at('::', 8080)), false)
})

test('isLoopback knows 127/8, ::1 and the IPv4-mapped form', () => {
  for (const ip of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) assert.equal(isLoopback(ip), true, ip)
  for (const ip of ['0.0.0.0', '::', '10.0.0.1', '::ffff:10.0.0.1', '128.0.0.1']) assert.equal(isLoopback(ip), false, ip)
})
