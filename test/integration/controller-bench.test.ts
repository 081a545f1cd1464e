import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const BENCH = fileURLToPath(new URL('../bench/controller.js', import.meta.url))

test('bench:controller in fast mode prints its JSON line, with every link failure rerouted and acked', { timeout: 120_000 }, async () => {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [BENCH, '--clients', '20', '--procs', '2', '--fast'], { timeout: 110_000 })
  const lines = stdout.trim().split('\n')
  assert.equal(lines.length, 1, `one line on stdout, got: ${stdout}\n${stderr.slice(-2000)}`)
  const r = JSON.parse(lines[0]) as Record<string, unknown>
  assert.equal(r.clients, 20)
  assert.equal(r.control_auth, 'mesh-key')
  for (const k of ['connect_all_s', 'reports_per_s', 'cpu_pct', 'rss_mb', 'baseline_quic_sink_cpu_pct']) {
    assert.equal(typeof r[k], 'number', `${k} in ${lines[0]}`)
    assert.ok((r[k] as number) >= 0, `${k} in ${lines[0]}`)
  }
  assert.ok((r.reports_per_s as number) > 0, 'the controller counted reports')
  assert.ok((r.rss_mb as number) > 0)
  assert.equal(r.link_failures, 3, `every trial rerouted: ${lines[0]}`)
  const reroute = r.reroute_all_acked_ms as { p50: number, p99: number }
  const affected = r.affected_clients as { p50: number, p99: number }
  assert.ok(reroute.p50 > 0 && reroute.p99 >= reroute.p50, lines[0])
  assert.ok(affected.p50 >= 1, 'at least the relay that reported the link down got a new table')
})

test('bench:controller --identity runs the control channel on identities', { timeout: 120_000 }, async () => {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [BENCH, '--clients', '20', '--procs', '2', '--fast', '--no-sink', '--identity'], { timeout: 110_000 })
  const lines = stdout.trim().split('\n')
  assert.equal(lines.length, 1, `one line on stdout, got: ${stdout}\n${stderr.slice(-2000)}`)
  const r = JSON.parse(lines[0]) as Record<string, unknown>
  assert.equal(r.control_auth, 'identity')
  assert.equal(typeof r.connect_all_s, 'number', lines[0])
  assert.equal(r.link_failures, 3, `every trial rerouted: ${lines[0]}`)
})
