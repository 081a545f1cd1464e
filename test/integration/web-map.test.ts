import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Server } from 'node:http'
import { pino } from 'pino'
import type { Page } from 'playwright-core'
import { Registry } from 'prom-client'
import { startControllerHttp } from '../../controller/http-api.js'
import { webMapPage } from '../../controller/web-map.js'
import { closeHttp } from '../../src/http.js'
import { MeshGraph } from '../../topology/mesh-graph.js'
import { snapshotOf } from '../../topology/snapshot.js'
import { browserUnavailable, launchBrowser } from '../helpers/browser.js'
import { fiveRelays } from '../helpers/topology-fixture.js'

const noBrowser = browserUnavailable()

/** What the fake controller serves; tests change it and watch the page follow. */
interface Mesh { graph: MeshGraph, version: number, role: 'leader' | 'standby' }

async function serve (mesh: Mesh): Promise<{ server: Server, url: string }> {
  const { server, bound } = await startControllerHttp({ host: '127.0.0.1', port: 0, family: 4 }, {
    topology: async (opts) => Buffer.from(JSON.stringify(snapshotOf(mesh.graph, mesh.version, opts))),
    role: () => mesh.role,
    registry: new Registry(),
    log: pino({ level: 'silent' }),
    page: webMapPage
  })
  return { server, url: `http://127.0.0.1:${bound.port}/` }
}

/**
 * The five-relay fixture with every grade on show: c→d at 5% loss is poor, d→c at 350 ms RTT
 * is bad, e→d at 2% loss fair, d→e down, the rest good.
 */
function gradedMesh (): MeshGraph {
  const g = fiveRelays()
  g.updateLink('c', 'd', { rttMs: 10, jitterMs: 0, loss: 0.05, up: true })
  g.updateLink('d', 'c', { rttMs: 350, jitterMs: 0, loss: 0, up: true })
  return g
}

/** Retries an assertion until it holds, so a failure shows the last actual value, not a timeout. */
async function eventually (check: () => Promise<void>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs
  for (;;) {
    try {
      await check()
      return
    } catch (err) {
      if (Date.now() > end) throw err
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

async function qualities (page: Page): Promise<Record<string, string | null>> {
  const pairs = await page.$$eval('[data-link]', (els) => els.map((e) => [e.getAttribute('data-link'), e.getAttribute('data-quality')]))
  return Object.fromEntries(pairs)
}

async function highlighted (page: Page): Promise<string[]> {
  const keys = await page.$$eval('[data-link][data-path="true"]', (els) => els.map((e) => e.getAttribute('data-link') ?? ''))
  return keys.sort()
}

/** The links along the controller's own path from src to dst: what the page must highlight. */
function expectedPathLinks (mesh: Mesh, src: string, dst: string): string[] {
  const path = snapshotOf(mesh.graph, mesh.version).routes[src][dst].path
  return path.slice(1).map((to, i) => `${path[i]}>${to}`).sort()
}

async function text (page: Page, selector: string): Promise<string> {
  return (await page.textContent(selector)) ?? ''
}

test('web map at GET / shows the live topology in a real browser', { skip: noBrowser }, async (t) => {
  const mesh: Mesh = { graph: gradedMesh(), version: 7, role: 'leader' }
  const { server, url } = await serve(mesh)
  const browser = await launchBrowser()
  let serverClosed = false
  try {
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })
    page.on('pageerror', (err) => { errors.push(err.message) })
    await page.goto(url)
    // Set once: if the page ever reloads, it is gone.
    await page.evaluate(() => { (globalThis as Record<string, unknown>).sameDocument = true })

    await t.test('draws every relay and every link graded by its figures', async () => {
      await eventually(async () => { assert.equal(await text(page, '#version'), '7') })
      const relays = await page.$$eval('[data-relay]', (els) => els.map((e) => [e.getAttribute('data-relay'), e.getAttribute('data-up')]))
      assert.deepEqual(relays, [['a', 'true'], ['b', 'true'], ['c', 'true'], ['d', 'true'], ['e', 'false']])
      assert.deepEqual(await qualities(page), {
        'a>b': 'good', 'a>c': 'good', 'b>a': 'good', 'b>c': 'good', 'c>a': 'good', 'c>b': 'good',
        'c>d': 'poor', 'd>c': 'bad', 'd>e': 'down', 'e>d': 'fair'
      })
      assert.equal(await text(page, '#role'), 'leader')
      assert.equal(await page.getAttribute('body', 'data-state'), 'live')
      assert.match(await text(page, '#legend'), /good\s*loss < 1%, RTT < 100 ms, jitter < 10 ms/)
    })

    await t.test('picking a source and a destination highlights exactly the route\'s links', async () => {
      await page.selectOption('#src', 'a')
      await page.selectOption('#dst', 'd')
      await eventually(async () => { assert.deepEqual(await highlighted(page), expectedPathLinks(mesh, 'a', 'd')) })
      assert.deepEqual(await highlighted(page), ['a>b', 'b>c', 'c>d'])
      assert.match(await text(page, '#route-summary'), /^a → b → c → d · cost /)
      const hops = await page.$$eval('#hops tbody tr', (rows) => rows.map((r) => r.firstElementChild?.textContent))
      assert.deepEqual(hops, ['a → b', 'b → c', 'c → d', 'total'])

      // Clicking two relays picks a pair too; nobody reaches e (its only way in is down).
      await page.click('[data-relay="b"]')
      await page.click('[data-relay="e"]')
      await eventually(async () => { assert.match(await text(page, '#route-summary'), /^No route from b to e/) })
      assert.deepEqual(await highlighted(page), [])
      await page.click('[data-relay="e"]')
      await page.click('[data-relay="a"]')
      await eventually(async () => { assert.deepEqual(await highlighted(page), expectedPathLinks(mesh, 'e', 'a')) })
      assert.equal(await page.inputValue('#src'), 'e')
      assert.equal(await page.inputValue('#dst'), 'a')
    })

    await t.test('follows changes without a reload and keeps the picked route highlighted', async () => {
      await page.selectOption('#src', 'a')
      await page.selectOption('#dst', 'd')
      await eventually(async () => { assert.deepEqual(await highlighted(page), ['a>b', 'b>c', 'c>d']) })

      mesh.graph.updateLink('b', 'c', { rttMs: NaN, jitterMs: NaN, loss: 1, up: false })
      mesh.graph.updateLink('a', 'b', { rttMs: 120, jitterMs: 0, loss: 0, up: true })
      mesh.graph.setRelayUp('e', true)
      mesh.version = 8
      mesh.role = 'standby'

      await eventually(async () => { assert.equal(await text(page, '#version'), '8') })
      const q = await qualities(page)
      assert.equal(q['b>c'], 'down')
      assert.equal(q['a>b'], 'fair')
      assert.equal(await page.getAttribute('[data-relay="e"]', 'data-up'), 'true')
      assert.equal(await text(page, '#role'), 'standby')
      // With b→c gone the controller routes a to d over the direct a→c link.
      assert.deepEqual(expectedPathLinks(mesh, 'a', 'd'), ['a>c', 'c>d'])
      assert.deepEqual(await highlighted(page), ['a>c', 'c>d'])
      assert.equal(await page.evaluate(() => (globalThis as Record<string, unknown>).sameDocument), true)
    })

    await t.test('logs no error to the console', () => {
      assert.deepEqual(errors, [])
    })

    await t.test('says so when the controller is unreachable, and keeps the last map', async () => {
      await closeHttp(server)
      serverClosed = true
      await eventually(async () => { assert.equal(await page.getAttribute('body', 'data-state'), 'unreachable') })
      assert.equal(await page.isVisible('#status'), true)
      assert.match(await text(page, '#status'), /Controller unreachable since .*table version 8/)
      assert.equal(await page.locator('[data-relay]').count(), 5)
    })
  } finally {
    await browser.close()
    if (!serverClosed) await closeHttp(server)
  }
})

test('web map lays out 1,000 relays without hanging and does not ask for their routes', { skip: noBrowser }, async () => {
  const graph = new MeshGraph()
  const n = 1000
  const id = (i: number): string => `r${String(i).padStart(4, '0')}`
  for (let i = 0; i < n; i++) graph.upsertRelay(id(i), `10.0.${i >> 8}.${i & 255}:7000`)
  // A ring plus chords: about the degree the neighbour policy gives a mesh this size.
  for (let i = 0; i < n; i++) {
    for (const j of [1, 7, 101]) {
      const m = { rttMs: 5 + ((i * j) % 290), jitterMs: 1, loss: (i % 17) / 400, up: i % 53 !== 0 }
      graph.updateLink(id(i), id((i + j) % n), m)
      graph.updateLink(id((i + j) % n), id(i), m)
    }
  }
  const asked: boolean[] = []
  const mesh: Mesh = { graph, version: 1, role: 'leader' }
  const { server, bound } = await startControllerHttp({ host: '127.0.0.1', port: 0, family: 4 }, {
    topology: async (opts) => { asked.push(opts.routes); return Buffer.from(JSON.stringify(snapshotOf(mesh.graph, mesh.version, { routes: false }))) },
    role: () => mesh.role,
    registry: new Registry(),
    log: pino({ level: 'silent' }),
    page: webMapPage
  })
  const browser = await launchBrowser()
  try {
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })
    page.on('pageerror', (err) => { errors.push(err.message) })
    const started = Date.now()
    await page.goto(`http://127.0.0.1:${bound.port}/`)
    await eventually(async () => { assert.equal(await page.locator('[data-relay]').count(), n) }, 15_000)
    assert.equal(await page.locator('[data-link]').count(), 6 * n)
    const drawnMs = Date.now() - started
    await page.selectOption('#src', id(0))
    await page.selectOption('#dst', id(500))
    await eventually(async () => { assert.match(await text(page, '#route-summary'), /not fetched above 200 relays/) })
    assert.ok(!asked.includes(true), 'the page never asks a 1,000-relay controller for routes')
    assert.ok(drawnMs < 15_000, `drawn in ${drawnMs} ms`)
    assert.deepEqual(errors, [])
  } finally {
    await browser.close()
    await closeHttp(server)
  }
})
