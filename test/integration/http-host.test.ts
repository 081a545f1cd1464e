import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { startControllerHttp } from '../../controller/http-api.js'
import { closeHttp } from '../../src/http.js'
import { requestWithHost } from '../helpers/raw-http.js'
import { CLI, freeTcpPort, freeUdpPort, waitFor } from '../helpers/relay-process.js'

/** Every relaymesh HTTP server answers only a Host that names its bound address (DNS rebinding). */

const procs: ChildProcess[] = []
after(() => { for (const p of procs) p.kill('SIGTERM') })

test('the controller\'s HTTP API refuses a Host that is not its bound address, and serves 127.0.0.1 and localhost', async () => {
  const { server, bound } = await startControllerHttp({ host: '127.0.0.1', port: 0, family: 4 }, {
    topology: async () => Buffer.from(JSON.stringify({ version: 1, relays: [], links: [], routes: {} })),
    role: () => 'leader',
    registry: new Registry(),
    log: pino({ level: 'silent' }),
    page: () => '<!doctype html><title>map</title>'
  })
  try {
    const p = bound.port
    for (const path of ['/', '/api/topology', '/healthz', '/metrics']) {
      const evil = await requestWithHost(p, path, `rebind.attacker.example:${p}`)
      assert.equal(evil.status, 421, path)
      assert.match((JSON.parse(evil.body) as { error: string }).error, /DNS rebinding guard.*use http:\/\/127\.0\.0\.1:\d+\//)
    }
    assert.equal((await requestWithHost(p, '/api/topology', '127.0.0.1')).status, 421, 'port 80 implied')
    assert.equal((await requestWithHost(p, '/api/topology', `127.0.0.1:${p}`)).status, 200)
    assert.equal((await requestWithHost(p, '/', `localhost:${p}`)).status, 200)
    assert.equal((await fetch(`http://127.0.0.1:${p}/healthz`)).status, 200)
  } finally {
    await closeHttp(server)
  }
})

test('relaymesh impair\'s control endpoint refuses a Host that is not its bound address', async () => {
  const http = await freeTcpPort()
  const p = spawn(process.execPath, [CLI, 'impair', '--listen', `127.0.0.1:${await freeUdpPort()}`, '--to', '127.0.0.1:9', '--http', `127.0.0.1:${http}`], { stdio: ['ignore', 'ignore', 'pipe'] })
  procs.push(p)
  let log = ''
  p.stderr?.on('data', (d: Buffer) => { log += d.toString() })
  await waitFor(() => log.includes('impair started'), 10_000, 'impair start')
  const evil = await requestWithHost(http, '/params', `attacker.example:${http}`, 'POST')
  assert.equal(evil.status, 421)
  assert.match((JSON.parse(evil.body) as { error: string }).error, /attacker\.example/)
  assert.equal((await requestWithHost(http, '/params', `127.0.0.1:${http}`)).status, 200)
})
