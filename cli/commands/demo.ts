import { createServer } from 'node:net'
import { Command } from 'commander'
import { ConfigError } from '../../src/errors.js'
import { parseHostPort, type HostPort } from '../../src/transport/address.js'
import { Demo } from '../../sim/demo.js'
import { loggerFor, untilSignal, withCommonOptions } from '../common.js'

interface DemoOptions { http: string, eventInterval: string, duration?: string, logLevel: string }

/** True when nothing listens on the TCP address yet. */
async function tcpFree (a: HostPort): Promise<boolean> {
  return await new Promise((resolve) => {
    const srv = createServer()
    srv.once('error', () => { resolve(false) })
    srv.listen(a.port, a.host, () => { srv.close(() => { resolve(true) }) })
  })
}

export function demoCommand (): Command {
  return withCommonOptions(new Command('demo'))
    .description('run a whole mesh on this machine: a controller, five relays with emulated links, live traffic and impairments')
    .option('--http <host:port>', 'the controller\'s HTTP API and web map (another free port is used if this one is taken)', '127.0.0.1:8080')
    .option('--event-interval <seconds>', 'impair (or heal) a link on the current path this often', '20')
    .option('--duration <seconds>', 'stop by itself after this long (default: run until Ctrl-C)')
    .addHelpText('after', `
The demo starts real processes: one relaymesh controller and five relaymesh relays (london,
frankfurt, newyork, singapore, tokyo) whose links delay packets as the distances between the
cities would. A 50 packets/s flow goes from london to tokyo through the mesh, and the same flow over
the direct link alone for comparison. Every --event-interval seconds a link on the current path
starts losing 30% or goes down, and the next event heals it; watch the path move. Open the web map
URL it prints to see the mesh live. Ctrl-C stops everything it started.`)
    .action(async (opts: DemoOptions) => {
      const log = loggerFor({ logLevel: opts.logLevel === 'info' ? 'warn' : opts.logLevel })
      const every = Number(opts.eventInterval)
      if (!Number.isFinite(every) || every < 2 || every > 3600) throw new ConfigError(`--event-interval '${opts.eventInterval}' is not a number of seconds from 2 to 3600`)
      const duration = opts.duration === undefined ? undefined : Number(opts.duration)
      if (duration !== undefined && (!Number.isFinite(duration) || duration <= 0)) throw new ConfigError(`--duration '${opts.duration ?? ''}' is not a positive number of seconds`)
      let http = parseHostPort(opts.http, '--http', true)
      if (http.port !== 0 && !await tcpFree(http)) {
        process.stderr.write(`relaymesh demo: ${opts.http} is in use; using a free port instead\n`)
        http = { ...http, port: 0 }
      }
      const note = (msg: string): void => { process.stderr.write(`relaymesh demo: ${msg}\n`) }
      const demo = new Demo({ http, eventEveryS: every, out: process.stdout, note })
      let stopping: Promise<void> | undefined
      const stop = async (): Promise<void> => { stopping ??= finish(); await stopping }
      const finish = async (): Promise<void> => {
        await demo.stop()
        process.stdout.write(`\n${demo.summary()}\nrelaymesh demo: stopped; every process it started has exited.\n`)
      }
      try {
        await demo.start()
      } catch (err) {
        await demo.stop()
        throw err
      }
      process.stdout.write(`relaymesh demo: web map at ${demo.mapUrl}\n`)
      const signalled = untilSignal(stop, log)
      if (duration === undefined) { await signalled; return }
      await Promise.race([signalled, new Promise((resolve) => setTimeout(resolve, duration * 1000).unref())])
      await stop()
    })
}
