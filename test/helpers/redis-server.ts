import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freeTcpPort, waitFor } from './relay-process.js'

/**
 * Why Redis tests cannot run here, or undefined when they can. Under CI
 * (RELAYMESH_REQUIRE_REDIS=1) a missing redis-server is a failure, never a skip.
 */
export function redisUnavailable (): string | undefined {
  const found = spawnSync('redis-server', ['--version']).status === 0
  if (found) return undefined
  const why = 'redis-server is not installed (apt-get install redis-server)'
  if (process.env.RELAYMESH_REQUIRE_REDIS === '1') throw new Error(`${why}, and RELAYMESH_REQUIRE_REDIS=1`)
  return why
}

export interface RedisServer {
  url: string
  port: number
  proc: ChildProcess
  stop: () => Promise<void>
}

/** Starts a private redis-server on a free port, with no persistence, in a temp dir. */
export async function startRedis (fixedPort?: number): Promise<RedisServer> {
  const port = fixedPort ?? await freeTcpPort()
  const dir = await mkdtemp(join(tmpdir(), 'relaymesh-redis-'))
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  proc.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  await waitFor(() => out.includes('Ready to accept connections'), 10_000, `redis-server on ${port}: ${out}`)
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    proc,
    stop: async () => {
      if (proc.exitCode !== null) return
      const done = new Promise<void>((resolve) => { proc.once('exit', () => { resolve() }) })
      proc.kill('SIGTERM')
      await done
    }
  }
}
