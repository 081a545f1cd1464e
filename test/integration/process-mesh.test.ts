import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ProcessMesh } from '../../sim/process/mesh.js'

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

test('process mode: a link set before the relay has that neighbour takes effect once the controller gives it', { timeout: 120_000 }, async () => {
  const mesh = new ProcessMesh()
  try {
    await mesh.startController()
    await mesh.startRelay({ id: 'a', probeIntervalMs: 50 })
    // With the controller away, a cannot learn of b: the relay refuses the setting (404), and the
    // mesh must keep it rather than fail or forget it.
    await mesh.controller?.kill()
    await mesh.startRelay({ id: 'b', probeIntervalMs: 50 })
    await mesh.setLink('a', 'b', { delay_ms: 60 })
    await mesh.controller?.start()
    const deadline = Date.now() + 60_000
    let rtt: number | null | undefined
    while (Date.now() < deadline) {
      rtt = (await mesh.topology(false))?.links.find((l) => l.from === 'a' && l.to === 'b')?.rtt_ms
      if (typeof rtt === 'number' && rtt >= 55) break
      await sleep(200)
    }
    assert.ok(typeof rtt === 'number' && rtt >= 55, `a→b RTT ${String(rtt)} ms carries the 60 ms delay`)
  } finally {
    await mesh.stop()
  }
})
