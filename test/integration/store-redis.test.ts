import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { execFileSync, spawn } from 'node:child_process'
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { Controller } from '../../controller/controller.js'
import { systemClock } from '../../src/clock.js'
import { createStore, Keys, type Store } from '../../src/store/index.js'
import { parseHostPort } from '../../src/transport/address.js'
import { captureLogger } from '../helpers/capture-logger.js'
import { redisUnavailable, startRedis, type RedisServer } from '../helpers/redis-server.js'
import { CLI, freeTcpPort, waitFor } from '../helpers/relay-process.js'
import { generateMeshKeyText } from '../../src/mesh-key.js'

/**
 * The store against a real redis-server: corrupt values, fencing, command timeouts and the ACL
 * docs/routing.md gives. Under RELAYMESH_REQUIRE_REDIS=1 a missing redis-server fails here.
 */
const missing = redisUnavailable()

if (missing !== undefined) {
  test(`redis store hardening needs redis-server: ${missing}`, { skip: missing }, () => {})
} else {
  describe('redis store hardening', () => {
    let redis: RedisServer
    let raw: Redis
    before(async () => {
      redis = await startRedis()
      raw = new Redis(redis.url)
    })
    after(async () => {
      raw.disconnect()
      await redis.stop()
    })

    test('a controller skips corrupt values it reads back from Redis, with a warning, and loads the rest', async () => {
      const prefix = `corrupt-${randomUUID()}:`
      const put = async (key: string, field: string, value: string): Promise<void> => { await raw.hset(prefix + key, field, value) }
      await put(Keys.relays, 'good', JSON.stringify({ id: 'good', address: '127.0.0.1:7101', caps: ['forward'], registeredAt: 1 }))
      await put(Keys.relays, 'peer', JSON.stringify({ id: 'peer', address: '127.0.0.1:7102' }))
      await put(Keys.relays, 'torn', '{"id":"torn","addr')
      await put(Keys.relays, 'noaddr', JSON.stringify({ id: 'noaddr', address: 'nowhere' }))
      await put(Keys.relays, 'other', JSON.stringify({ id: 'someone-else', address: '127.0.0.1:7103' }))
      await put(Keys.relays, '_bad id', JSON.stringify({ id: '_bad id', address: '127.0.0.1:7104' }))
      await put(Keys.relays, 'array', '[1,2,3]')
      const link = { peer: 'peer', up: true, rtt_ms: 10, jitter_ms: 1, loss: 0, loss_short: 0, samples: 10 }
      await put(Keys.links, 'good', JSON.stringify([link]))
      await put(Keys.links, 'peer', JSON.stringify([{ ...link, peer: 'good', loss: 7 }]))
      await put(Keys.links, 'torn', 'nope')
      await raw.set(prefix + Keys.topologyVersion, 'twelve')
      const store = await createStore({ clock: systemClock, redisUrl: redis.url, prefix })
      const cap = captureLogger()
      const controller = new Controller({ clock: systemClock, logger: cap.logger, store }, {
        control: parseHostPort('127.0.0.1:0', 'control', true), meshKey: randomBytes(32), instanceId: 'corrupt-test'
      })
      try {
        await controller.start()
        await waitFor(() => cap.lines.some((l) => l.msg === 'state loaded from the store' || l.msg.startsWith('could not load state')), 10_000, 'the load from the store')
        const snap = controller.snapshot({ routes: false })
        assert.deepEqual(snap.relays.map((r) => r.id).sort(), ['good', 'peer'])
        assert.deepEqual(snap.links.map((l) => `${l.from}>${l.to}`), ['good>peer'])
        assert.equal(snap.version, 0, 'a corrupt version is ignored')
        const skipped = cap.warnings().filter((l) => l.msg === 'skipping a corrupt value in the store').map((l) => `${String(l.key)}/${String(l.field)}`).sort()
        assert.deepEqual(skipped, ['links/peer', 'links/torn', 'relays/_bad id', 'relays/array', 'relays/noaddr', 'relays/other', 'relays/torn', 'topology:version/'])
        const metrics = await controller.metrics.registry.getSingleMetricAsString('relaymesh_controller_store_corrupt_total')
        assert.match(metrics, /relaymesh_controller_store_corrupt_total\{key="relays"\} 5/)
      } finally {
        await controller.stop()
        await store.close()
      }
    })

    test('the fencing number rises on every acquire and keeps rising after Redis loses its data', async () => {
      const store = await createStore({ clock: systemClock, redisUrl: redis.url, prefix: `fence-${randomUUID()}:` })
      try {
        const f1 = await store.acquireFencedLease(Keys.leaderLease, 'a', 10_000)
        assert.ok(f1 > 0)
        assert.equal(await store.acquireFencedLease(Keys.leaderLease, 'a', 10_000), f1, 'a renewal keeps it')
        assert.equal(await store.acquireFencedLease(Keys.leaderLease, 'b', 10_000), 0, 'another holder gets 0')
        await store.releaseLease(Keys.leaderLease, 'a')
        const f2 = await store.acquireFencedLease(Keys.leaderLease, 'b', 10_000)
        assert.ok(f2 > f1)
        await store.releaseLease(Keys.leaderLease, 'b')
        await raw.flushall()
        const f3 = await store.acquireFencedLease(Keys.leaderLease, 'a', 10_000)
        assert.ok(f3 > f2, `after FLUSHALL ${f3} > ${f2}`)
        assert.equal(await store.acquireLease(Keys.leaderLease, 'a', 10_000), true)
      } finally {
        await store.close()
      }
    })

    test('a Redis that stops answering (SIGSTOP) makes commands fail within the timeout instead of hanging', async () => {
      const own = await startRedis()
      const store = await createStore({ clock: systemClock, redisUrl: own.url, prefix: 'stop:', commandTimeoutMs: 300 })
      try {
        await store.set('x', '1')
        own.proc.kill('SIGSTOP')
        const outcome = async (p: Promise<unknown>): Promise<string> => {
          let timer: NodeJS.Timeout | undefined
          const hung = new Promise<string>((resolve) => { timer = setTimeout(() => { resolve('hung') }, 20_000) })
          try {
            return await Promise.race([p.then(() => 'answered', (err: Error) => `failed: ${err.message}`), hung])
          } finally {
            clearTimeout(timer)
          }
        }
        assert.match(await outcome(store.get('x')), /^failed: .*timed out/i)
        assert.match(await outcome(store.acquireFencedLease(Keys.leaderLease, 'a', 1_000)), /^failed: .*timed out/i)
        assert.match(await outcome(store.hset(Keys.links, 'a', '[]')), /^failed: .*timed out/i)
        own.proc.kill('SIGCONT')
        await waitFor(async () => await store.get('x').then((v) => v === '1', () => false), 10_000, 'answers again after SIGCONT')
      } finally {
        own.proc.kill('SIGCONT')
        await store.close()
        await own.stop()
      }
    })

    test('the store works as the Redis user docs/routing.md gives, and only under its prefix', async () => {
      const doc = await readFile(fileURLToPath(new URL('../../../docs/routing.md', import.meta.url)), 'utf8')
      const line = doc.split('\n').find((l) => l.startsWith('ACL SETUSER relaymesh '))
      assert.ok(line !== undefined, 'docs/routing.md has the ACL line')
      // Characters a URL would mangle, to hold withPassword() to its word.
      const password = `${randomBytes(8).toString('hex')}@:/%#?`
      const user = `relaymesh${randomBytes(3).toString('hex')}`
      const args = line.split(' ').slice(2).map((w) => w === '>PASSWORD' ? `>${password}` : w)
      await raw.call('ACL', 'SETUSER', user, ...args.slice(1))
      const url = redis.url.replace('redis://', `redis://${user}@`)
      const store: Store = await createStore({ clock: systemClock, redisUrl: url, prefix: 'relaymesh:', password })
      try {
        await store.set('k', 'v')
        assert.equal(await store.get('k'), 'v')
        await store.del('k')
        await store.hset(Keys.relays, 'a', '{}')
        assert.deepEqual(await store.hgetall(Keys.relays), { a: '{}' })
        await store.hdel(Keys.relays, 'a')
        assert.ok(await store.incr(Keys.topologyVersion) > 0)
        const fence = await store.acquireFencedLease(Keys.leaderLease, 'c1', 5_000)
        assert.ok(fence > 0)
        assert.equal(await store.leaseHolder(Keys.leaderLease), 'c1')
        await store.releaseLease(Keys.leaderLease, 'c1')
        assert.equal(await store.leaseHolder(Keys.leaderLease), undefined)
      } finally {
        await store.close()
      }
      const outside = await createStore({ clock: systemClock, redisUrl: url, prefix: 'other:', password })
      try {
        await assert.rejects(outside.set('k', 'v'), /NOPERM/)
      } finally {
        await outside.close()
      }
      await assert.rejects(createStore({ clock: systemClock, redisUrl: url, prefix: 'relaymesh:', password: 'wrong' }), /WRONGPASS|invalid username-password/i)
    })

    test('relaymesh controller --redis-password-file logs in as the URL\'s user, and warns when others can read the file', async () => {
      const password = randomBytes(12).toString('base64url')
      const user = `ctl${randomBytes(3).toString('hex')}`
      await raw.call('ACL', 'SETUSER', user, 'on', `>${password}`, '~relaymesh:*', '+@all')
      const dir = await mkdtemp(join(tmpdir(), 'relaymesh-pw-'))
      const pwFile = join(dir, 'redis.password')
      await writeFile(pwFile, `${password}\n`)
      await chmod(pwFile, 0o644)
      const keyFile = join(dir, 'mesh.key')
      await writeFile(keyFile, generateMeshKeyText(), { mode: 0o600 })
      const proc = spawn(process.execPath, [CLI, 'controller', '--control', '127.0.0.1:0', '--http', '127.0.0.1:0', '--mesh-key-file', keyFile,
        '--redis', redis.url.replace('redis://', `redis://${user}@`), '--redis-password-file', pwFile], { stdio: ['ignore', 'ignore', 'pipe'] })
      let log = ''
      proc.stderr.setEncoding('utf8')
      proc.stderr.on('data', (d: string) => { log += d })
      try {
        await waitFor(() => log.includes('"controller started"') || proc.exitCode !== null, 20_000, 'the controller to start')
        assert.match(log, /"role":"leader"/)
        assert.match(log, /"store":"redis"/)
        assert.ok(log.includes(`chmod 600 ${pwFile}`), log)
        assert.ok(!log.includes(password), 'the password is never logged')
        assert.ok((await raw.get('relaymesh:leader')) !== null, 'the lease is in Redis')
      } finally {
        if (proc.exitCode === null) {
          const done = new Promise<void>((resolve) => { proc.once('exit', () => { resolve() }) })
          proc.kill('SIGTERM')
          await done
        }
      }
    })

    test('relaymesh controller --redis rediss:// talks TLS and verifies the server certificate', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'relaymesh-tls-'))
      const cert = join(dir, 'cert.pem')
      const key = join(dir, 'key.pem')
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
        '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' })
      const port = await freeTcpPort()
      const server = spawn('redis-server', ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
        '--dir', dir, '--tls-cert-file', cert, '--tls-key-file', key, '--tls-ca-cert-file', cert, '--tls-auth-clients', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      server.stdout.on('data', (d: Buffer) => { out += d.toString() })
      const keyFile = join(dir, 'mesh.key')
      await writeFile(keyFile, generateMeshKeyText(), { mode: 0o600 })
      const run = async (env: NodeJS.ProcessEnv): Promise<string> => {
        const proc = spawn(process.execPath, [CLI, 'controller', '--control', '127.0.0.1:0', '--http', '127.0.0.1:0', '--mesh-key-file', keyFile,
          '--redis', `rediss://127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'], env })
        let log = ''
        proc.stderr.setEncoding('utf8')
        proc.stderr.on('data', (d: string) => { log += d })
        try {
          await waitFor(() => log.includes('"controller started"') || proc.exitCode !== null, 20_000, 'the controller to start or fail')
        } finally {
          if (proc.exitCode === null) {
            const done = new Promise<void>((resolve) => { proc.once('exit', () => { resolve() }) })
            proc.kill('SIGTERM')
            await done
          }
        }
        return log
      }
      try {
        await waitFor(() => out.includes('Ready to accept connections'), 10_000, `redis-server with TLS: ${out}`)
        const trusted = await run({ ...process.env, NODE_EXTRA_CA_CERTS: cert })
        assert.match(trusted, /"controller started"/)
        assert.match(trusted, /"store":"redis"/)
        const env = { ...process.env }
        delete env.NODE_EXTRA_CA_CERTS
        const untrusted = await run(env)
        assert.doesNotMatch(untrusted, /"controller started"/)
        assert.match(untrusted, /connect to Redis: .*certificate/i)
      } finally {
        const done = new Promise<void>((resolve) => { server.once('exit', () => { resolve() }) })
        server.kill('SIGTERM')
        await done
      }
    })
  })
}
