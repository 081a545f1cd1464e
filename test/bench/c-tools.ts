/**
 * The C generator and sink of the forwarding benchmark (fwd-gen.c, fwd-sink.c beside this file's
 * source), built with `cc` into the bench's temp dir and driven over stdin/stdout one line at a time.
 *
 * Why C: a JavaScript generator on the same two cores capped the bare chain (it needs about as much
 * CPU per packet as a hop) and so flattered the relay/bare ratio; a JavaScript sink shared the bench
 * process with it. The C pair costs well under a microsecond per packet.
 */
import { execFile, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { spawnProgram } from './forward-chains.js'

const SRC = fileURLToPath(new URL('../../../test/bench/', import.meta.url))

export interface CTools { gen: string, sink: string }

/** Compiles fwd-gen and fwd-sink into `dir`; fails with cc's own message. */
export async function buildCTools (dir: string): Promise<CTools> {
  const cc = process.env.CC ?? 'cc'
  const out: CTools = { gen: join(dir, 'fwd-gen'), sink: join(dir, 'fwd-sink') }
  for (const [name, bin] of [['fwd-gen', out.gen], ['fwd-sink', out.sink]] as const) {
    try {
      await promisify(execFile)(cc, ['-O2', '-Wall', '-o', bin, join(SRC, `${name}.c`)])
    } catch (err) {
      throw new Error(`could not build ${name}.c with '${cc}' (install a C compiler, or set CC): ${(err as Error).message}`)
    }
  }
  return out
}

/** A child that answers each line written to its stdin with lines on its stdout. */
class LineChild {
  private buffered = ''
  private readonly lines: string[] = []
  private waiter: (() => void) | undefined
  private exited = false

  constructor (readonly proc: ChildProcess, private readonly what: string) {
    const out = proc.stdout
    if (out === null || proc.stdin === null) throw new Error(`${what}: no pipes`)
    out.setEncoding('utf8')
    out.on('data', (d: string) => {
      this.buffered += d
      let nl: number
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        this.lines.push(this.buffered.slice(0, nl))
        this.buffered = this.buffered.slice(nl + 1)
      }
      this.waiter?.()
    })
    proc.once('exit', () => { this.exited = true; this.waiter?.() })
  }

  async line (): Promise<string> {
    for (;;) {
      const l = this.lines.shift()
      if (l !== undefined) return l
      if (this.exited) throw new Error(`${this.what} exited`)
      await new Promise<void>((resolve) => { this.waiter = resolve })
      this.waiter = undefined
    }
  }

  send (text: string): void {
    this.proc.stdin?.write(text + '\n')
  }

  close (): void {
    this.proc.stdin?.end()
  }
}

export interface GenResult { sent: number, elapsedNs: number, sendErrors: number }

/** fwd-gen: sends paced 200-byte datagrams, one request at a time. */
export class CGenerator {
  private readonly child: LineChild
  constructor (bin: string) {
    this.child = new LineChild(spawnProgram(bin, [], ['pipe', 'pipe', 'inherit']), 'fwd-gen')
  }

  get pid (): number | undefined { return this.child.proc.pid }

  async run (req: { port: number, trial: number, rate: number, warm: number, total: number }): Promise<GenResult> {
    this.child.send(`${req.port} ${req.trial} ${req.rate} ${req.warm} ${req.total}`)
    const [sent, elapsedNs, sendErrors] = (await this.child.line()).split(' ').map(Number)
    return { sent, elapsedNs, sendErrors }
  }

  close (): void { this.child.close() }
}

export interface SinkReport { received: number, duplicates: number, stray: number, latencies: Float64Array }

/** fwd-sink: counts a trial's measured window and, if asked, its one-way latencies. */
export class CSink {
  port = 0
  private child: LineChild | undefined

  constructor (private readonly bin: string) {}

  async start (): Promise<void> {
    this.child = new LineChild(spawnProgram(this.bin, [], ['pipe', 'pipe', 'inherit']), 'fwd-sink')
    this.port = Number(await this.child.line())
  }

  private get c (): LineChild {
    if (this.child === undefined) throw new Error('fwd-sink not started')
    return this.child
  }

  async arm (trial: number, warm: number, total: number, latency: boolean): Promise<void> {
    this.c.send(`arm ${trial} ${warm} ${total} ${latency ? 1 : 0}`)
    const ok = await this.c.line()
    if (ok !== 'ok') throw new Error(`fwd-sink: unexpected answer '${ok}'`)
  }

  /** The current trial's counts, latencies sorted (µs). */
  async report (): Promise<SinkReport> {
    this.c.send('report')
    const [received, duplicates, stray, count] = (await this.c.line()).split(' ').map(Number)
    const text = await this.c.line()
    const latencies = count === 0 ? new Float64Array(0) : Float64Array.from(text.split(' '), Number).sort()
    return { received, duplicates, stray, latencies }
  }

  close (): void { this.child?.close() }
}
