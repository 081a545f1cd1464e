import { mkdir, open, readFile, rename } from 'node:fs/promises'
import { dirname } from 'node:path'
import { z } from 'zod'
import type { Clock, Timer } from '../src/clock.js'
import { ConfigError } from '../src/errors.js'
import type { Logger } from '../src/logging.js'
import { tableEntrySchema } from '../src/control/messages.js'
import { tableFromWire, tableToWire } from '../src/control/table-codec.js'
import type { IdRoute } from './forwarding-table.js'

/**
 * The relay's last forwarding state on disk (`--state-file`), so a relay that restarts while the
 * controller is away comes back forwarding on its last tables instead of dropping everything.
 * Written atomically and durably (temp file, fsync, rename, fsync of the directory), at most every
 * SAVE_DELAY_MS, so a crash or power loss leaves the old file or the new one, never a torn one.
 * A file that is corrupt anyway (a disk fault, a hand edit) is set aside as `FILE.corrupt-TIME`
 * with a warning, and the relay starts without it: a controller gives it tables again.
 */
export interface SavedState {
  relay: string
  tableVersion: number
  table: Map<string, IdRoute>
  neighbours: Array<{ id: string, address: string }>
}

const SAVE_DELAY_MS = 200

const fileSchema = z.object({
  format: z.literal(1),
  relay: z.string(),
  table_version: z.number().int().min(0),
  table: z.record(z.string(), tableEntrySchema),
  neighbours: z.array(z.object({ id: z.string(), address: z.string() })),
  saved_at: z.string()
})

/**
 * Reads a state file; undefined when there is none, or when it is corrupt (then it is renamed to
 * `FILE.corrupt-TIME` and a warning logged). Another relay's file, or one that cannot be read, is
 * a configuration error.
 */
export async function loadState (path: string, relay: string, logger: Logger, nowMs: () => number = Date.now): Promise<SavedState | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new ConfigError(`--state-file '${path}' cannot be read: ${(err as Error).message}`)
  }
  let doc: unknown
  try { doc = JSON.parse(text) } catch {
    return await setAside(path, 'not JSON', logger, nowMs)
  }
  const r = fileSchema.safeParse(doc)
  if (!r.success) return await setAside(path, `not a relaymesh state file (${r.error.issues[0]?.path.join('.') ?? ''}: ${r.error.issues[0]?.message ?? ''})`, logger, nowMs)
  if (r.data.relay !== relay) throw new ConfigError(`--state-file '${path}' belongs to relay '${r.data.relay}', not '${relay}'; give each relay its own file`)
  return {
    relay,
    tableVersion: r.data.table_version,
    table: tableFromWire(r.data.table),
    neighbours: r.data.neighbours
  }
}

/** Renames a corrupt state file out of the way, so the next save does not destroy the evidence. */
async function setAside (path: string, reason: string, logger: Logger, nowMs: () => number): Promise<undefined> {
  const aside = `${path}.corrupt-${new Date(nowMs()).toISOString().replace(/:/g, '')}`
  try {
    await rename(path, aside)
  } catch (err) {
    throw new ConfigError(`--state-file '${path}' is corrupt (${reason}) and cannot be moved aside: ${(err as Error).message}; delete it`)
  }
  logger.warn({ component: 'state-file', path, movedTo: aside, reason }, 'state file is corrupt: set aside; starting without saved tables')
  return undefined
}

/** Writes `text` to `path` so that after a crash the file holds either the old or the new text. */
export async function writeFileDurably (path: string, text: string): Promise<void> {
  const dir = dirname(path)
  await mkdir(dir, { recursive: true })
  const tmp = `${path}.tmp`
  const f = await open(tmp, 'w', 0o600)
  try {
    await f.writeFile(text)
    await f.sync()
  } finally {
    await f.close()
  }
  await rename(tmp, path)
  // The rename is durable only once the directory entry is on disk.
  const d = await open(dir, 'r')
  try { await d.sync() } finally { await d.close() }
}

/** Saves the state a short while after each change, coalescing bursts of table rounds. */
export class StateSaver {
  private readonly clock: Clock
  private readonly log: Logger
  private readonly path: string
  private readonly snapshot: () => SavedState
  private timer: Timer | undefined
  private writing: Promise<void> = Promise.resolve()

  constructor (components: { clock: Clock, logger: Logger }, init: { path: string, snapshot: () => SavedState }) {
    this.clock = components.clock
    this.log = components.logger.child({ component: 'state-file' })
    this.path = init.path
    this.snapshot = init.snapshot
  }

  changed (): void {
    if (this.timer !== undefined) return
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined
      this.writing = this.writing.then(async () => { await this.write() })
    }, SAVE_DELAY_MS)
  }

  /** Writes any pending change now. */
  async flush (): Promise<void> {
    if (this.timer !== undefined) {
      this.clock.clearTimer(this.timer)
      this.timer = undefined
      this.writing = this.writing.then(async () => { await this.write() })
    }
    await this.writing
  }

  private async write (): Promise<void> {
    const s = this.snapshot()
    const doc = {
      format: 1,
      relay: s.relay,
      table_version: s.tableVersion,
      table: tableToWire(s.table),
      neighbours: s.neighbours,
      saved_at: new Date(this.clock.nowMs()).toISOString()
    }
    try {
      await writeFileDurably(this.path, JSON.stringify(doc) + '\n')
    } catch (err) {
      this.log.warn({ path: this.path, err: (err as Error).message }, 'could not save forwarding state')
    }
  }
}
