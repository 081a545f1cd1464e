import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import net from 'node:net'
import { promisify } from 'node:util'
import { pino } from 'pino'
import { closeHttp, startHttpServer } from '../../src/http.js'
import { RelaymeshError } from '../../src/errors.js'
import { CLI, makeMeshDir } from '../helpers/relay-process.js'

/** The one router every relaymesh daemon's HTTP server runs (src/http.ts). */

const LOCAL = { host: '127.0.0.1', port: 0, family: 4 as const }
const log = pino({ level: 'silent' })

test('the router answers unknown paths 404 with the paths there are, other methods 405 with Allow, HEAD like GET, and a failing handler 500 naming the daemon\'s log', async () => {
  const { server, bound } = await startHttpServer(LOCAL, {
    name: 'impair',
    log,
    routes: [
      { method: 'GET', path: '/a', handle: (_req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }).end('a') } },
      { method: 'POST', path: '/a', handle: (_req, res) => { res.writeHead(201).end() } },
      { method: 'GET', path: '/boom', handle: () => { throw new Error('boom') } },
      { method: 'GET', path: '/later', handle: async () => { await Promise.resolve(); throw new Error('later') } }
    ]
  })
  const url = `http://127.0.0.1:${bound.port}`
  try {
    assert.equal(await (await fetch(`${url}/a?x=1`)).text(), 'a')
    assert.equal((await fetch(`${url}/a`, { method: 'POST' })).status, 201)
    const head = await fetch(`${url}/a`, { method: 'HEAD' })
    assert.equal(head.status, 200)
    assert.equal(await head.text(), '')
    const del = await fetch(`${url}/a`, { method: 'DELETE' })
    assert.equal(del.status, 405)
    assert.equal(del.headers.get('allow'), 'GET, HEAD, POST')
    const none = await fetch(`${url}/nope`, { method: 'POST', body: 'x' })
    assert.equal(none.status, 404)
    assert.deepEqual(await none.json(), { error: 'not found', paths: ['/a', '/boom', '/later'] })
    for (const path of ['/boom', '/later']) {
      const r = await fetch(`${url}${path}`)
      assert.equal(r.status, 500, path)
      assert.deepEqual(await r.json(), { error: `${path} failed; the impair log has the reason` })
    }
    assert.equal((await fetch(`${url}/a`)).status, 200, 'still serving')
  } finally {
    await closeHttp(server)
  }
})

test('two routes for one method and path are a bug, refused at start', async () => {
  await assert.rejects(startHttpServer(LOCAL, {
    name: 'relay',
    log,
    routes: [{ method: 'GET', path: '/x', handle: () => {} }, { method: 'GET', path: '/x', handle: () => {} }]
  }), /two HTTP routes for GET \/x/)
})

/** A TCP listener on 127.0.0.1 that holds a port for the length of `fn`. */
async function withTakenPort (fn: (port: number) => Promise<void>): Promise<void> {
  const holder = net.createServer()
  await new Promise<void>((resolve) => { holder.listen(0, '127.0.0.1', resolve) })
  try {
    await fn((holder.address() as net.AddressInfo).port)
  } finally {
    await new Promise<void>((resolve) => { holder.close(() => { resolve() }) })
  }
}

test('a failed HTTP listen rejects with RM_ERR_SOCKET naming the address and the fix', async () => {
  await withTakenPort(async (port) => {
    await assert.rejects(startHttpServer({ host: '127.0.0.1', port, family: 4 }, { name: 'relay', log, routes: [] }), (err: unknown) => {
      assert.ok(err instanceof RelaymeshError)
      assert.equal(err.code, 'RM_ERR_SOCKET')
      assert.equal(err.message, `cannot listen for HTTP on 127.0.0.1:${port}: EADDRINUSE, another process holds it: stop that one, or pass --http another HOST:PORT (port 0 picks a free one)`)
      return true
    })
  })
})

test('every daemon answers an --http address in use with one line naming it and the fix, and exits', { timeout: 120_000 }, async () => {
  const mesh = await makeMeshDir(['a'], [])
  const daemons: Record<string, string[]> = {
    impair: ['impair', '--listen', '127.0.0.1:0', '--to', '127.0.0.1:9'],
    controller: ['controller', '--control', '127.0.0.1:0', '--mesh-key-file', mesh.keyFile],
    relay: ['relay', '--id', 'a', '--listen', `127.0.0.1:${mesh.ports.get('a') as number}`, '--static', mesh.meshFile, '--mesh-key-file', mesh.keyFile]
  }
  await withTakenPort(async (port) => {
    for (const [name, args] of Object.entries(daemons)) {
      const run = promisify(execFile)(process.execPath, [CLI, ...args, '--http', `127.0.0.1:${port}`, '--log-level', 'error'], { timeout: 30_000 })
      const err = await run.then(() => assert.fail(`${name} started on a port in use`), (e: unknown) => e as { code: number | null, killed: boolean, stderr: string })
      assert.equal(err.killed, false, `${name} exits on its own`)
      assert.equal(err.code, 1, name)
      assert.equal(err.stderr, `relaymesh: error: cannot listen for HTTP on 127.0.0.1:${port}: EADDRINUSE, another process holds it: stop that one, or pass --http another HOST:PORT (port 0 picks a free one) [RM_ERR_SOCKET]\n`, name)
    }
  })
})
