import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Identity, PublicIdentity, parseAllowList, parseIdentity, parsePublicKey } from '../../src/identity.js'

const hex = (s: string): Buffer => Buffer.from(s, 'hex')

test('known answers: RFC 8032 (Ed25519, test 1) and RFC 7748 (X25519, section 6.1)', () => {
  const alice = new Identity(
    hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'),
    hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'))
  assert.equal(alice.public.sign.toString('hex'), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
  assert.equal(alice.public.dh.toString('hex'), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a')
  assert.equal(alice.sign(Buffer.alloc(0)).toString('hex'),
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b')
  const bob = new Identity(Buffer.alloc(32, 1), hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'))
  assert.equal(bob.public.dh.toString('hex'), 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f')
  assert.equal(alice.agree(bob.public).toString('hex'), '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742')
})

test('an identity survives its file text; signatures verify only for its key and its data; agreement is symmetric', () => {
  const a = Identity.generate()
  const b = Identity.generate()
  const again = parseIdentity(a.text + '\n', 'a.id')
  assert.ok(again.public.equals(a.public))
  const pub = parsePublicKey(a.public.text, 'a.id.pub')
  assert.ok(pub.equals(a.public))
  const data = Buffer.from('relaymesh link hello')
  const sig = a.sign(data)
  assert.ok(pub.verify(data, sig))
  assert.ok(!pub.verify(Buffer.from('relaymesh link hellp'), sig), 'other data')
  assert.ok(!b.public.verify(data, sig), 'another key')
  assert.ok(!pub.verify(data, sig.subarray(0, 63)), 'a short signature')
  assert.deepEqual(a.agree(b.public), b.agree(a.public))
  assert.notDeepEqual(a.agree(b.public), a.agree(Identity.generate().public))
})

test('malformed identity files and public keys get one line naming the file and the fix', () => {
  const a = Identity.generate()
  for (const bad of ['', 'hello', a.text.slice(0, -4), a.public.text, a.text.replace('rmid1:', 'rmid2:')]) {
    assert.throws(() => parseIdentity(bad, 'x.id'), (e: Error & { code?: string }) => e.code === 'RM_ERR_IDENTITY' && e.message.includes("'x.id'") && e.message.includes('relaymesh keygen --identity x.id') && !e.message.includes('\n'))
  }
  for (const bad of ['', a.text, a.public.text.slice(0, -8), `${a.public.text}AAAA`]) {
    assert.throws(() => parsePublicKey(bad, 'peers:3'), (e: Error & { code?: string }) => e.code === 'RM_ERR_IDENTITY' && e.message.startsWith('peers:3: '))
  }
})

test('an allow-list maps relay ids to keys; a repeated id or key, a bad id or a bad line is refused with its line', () => {
  const [a, b] = [Identity.generate().public, Identity.generate().public]
  const list = parseAllowList(`# relays\n\nrelay-a ${a.text}\n  relay-b   ${b.text}  \n`, 'keys')
  assert.deepEqual([...list.keys()], ['relay-a', 'relay-b'])
  assert.ok((list.get('relay-b') as PublicIdentity[])[0].equals(b))
  const rotating = parseAllowList(`a ${a.text} ${b.text}\n`, 'keys')
  assert.deepEqual(rotating.get('a')?.map((k) => k.text), [a.text, b.text], 'two keys while a rotates')
  const refused = (text: string, pattern: RegExp): void => {
    assert.throws(() => parseAllowList(text, 'keys'), (e: Error & { code?: string }) => e.code === 'RM_ERR_IDENTITY' && pattern.test(e.message), text)
  }
  refused(`a ${a.text}\na ${b.text}\n`, /^keys:2: relay 'a' is listed twice/)
  refused(`a ${a.text}\nb ${a.text}\n`, /^keys:2: this key is already relay 'a's/)
  refused(`-a ${a.text}\n`, /^keys:1: relay id '-a' is invalid/)
  refused(`a\n`, /^keys:1: expected 'RELAY_ID rmpub1:… \[rmpub1:…\]'/)
  refused(`a ${a.text} ${a.text}\n`, /^keys:1: this key is already relay 'a's/)
  refused(`a rmpub1:AAAA\n`, /^keys:1: 'rmpub1:AAAA' is not a public key/)
})
