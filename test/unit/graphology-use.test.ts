import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root: this file runs as dist/test/unit/graphology-use.test.js. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const SHIPPED = ['src', 'relay', 'prober', 'controller', 'topology', 'cli', 'sim']

async function sources (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(join(ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, e.name)
    if (e.isDirectory()) out.push(...await sources(path))
    else if (e.name.endsWith('.ts')) out.push(path)
  }
  return out
}

/** The shipped source files that import `pkg` (exactly, not a package whose name starts with it). */
async function importersOf (pkg: string): Promise<string[]> {
  const pattern = new RegExp(`from '${pkg}'`)
  const found: string[] = []
  for (const dir of SHIPPED) {
    for (const path of await sources(dir)) if (pattern.test(await readFile(join(ROOT, path), 'utf8'))) found.push(relative(ROOT, join(ROOT, path)))
  }
  return found.sort()
}

test('graphology stays inside MeshGraph: only topology/mesh-graph.ts and its link-columns.ts import it', async () => {
  assert.deepEqual(await importersOf('graphology'), ['topology/link-columns.ts', 'topology/mesh-graph.ts'])
})

test('graphology-shortest-path is a dev dependency: no shipped file imports it, and package.json lists it under devDependencies', async () => {
  assert.deepEqual(await importersOf('graphology-shortest-path'), [])
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>, devDependencies: Record<string, string> }
  assert.equal(pkg.dependencies['graphology-shortest-path'], undefined)
  assert.ok(pkg.devDependencies['graphology-shortest-path'] !== undefined)
})
