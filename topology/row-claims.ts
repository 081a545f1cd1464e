/**
 * How the route engine's calling thread and its helper thread (route-threads.ts, route-thread.ts)
 * split one phase of row computations without the caller ever waiting on a helper that the OS has
 * descheduled.
 *
 * The caller walks rows upward from 0, the helper downward from n − 1, each claiming a row by
 * compare-and-swap on its state. The helper computes into private scratch and may publish only by
 * moving its row from HELPER to PUBLISHING; the caller, on meeting a row the helper holds but has
 * not published, takes it back (HELPER → CALLER) and computes it itself. So the caller waits only
 * on a row that is being copied in, and a slow helper merely does less.
 *
 * Row states carry the phase's sequence number, state = seq · 4 + kind, so a helper still busy
 * with an old phase can neither claim nor publish a row of a newer one: it claims only rows
 * tagged with an earlier phase than its own, and publishes only a row still tagged with its own.
 * Every phase ends with every row tagged with it, so an old helper finds nothing to take. (Tags
 * wrap after 2^29 phases; a helper that late is not a concern.)
 *
 *   control: Int32Array
 *     [SEQ]    bumped by 2 per phase; odd while the caller writes the fields below (a seqlock).
 *              The helper sleeps on it.
 *     [TABLES] id of the tables the phase works on (posted once over the message port)
 *     [PHASE]  PHASE_TREES | PHASE_BACKUPS | PHASE_STOP | PHASE_MESSAGES
 *     [FAILED] set when the helper threw; the caller then stops using it
 */
export const SEQ = 0
export const TABLES = 1
export const PHASE = 2
export const FAILED = 3
export const CONTROL_SLOTS = 4

export const PHASE_TREES = 0
export const PHASE_BACKUPS = 1
export const PHASE_STOP = 2
/** No rows: wakes the helper to read its port, where a topology body waits to be serialized. */
export const PHASE_MESSAGES = 3

/** Row kinds within a phase. */
export const HELPER = 0
export const PUBLISHING = 1
export const PUBLISHED = 2
export const CALLER = 3

export function tag (seq: number, kind: number): number {
  return (seq * 4 + kind) | 0
}

export interface Job {
  seq: number
  tables: number
  phase: number
}

/** Publishes a phase and wakes the helper. Only the caller's thread publishes. */
export function publishJob (control: Int32Array, tables: number, phase: number): Job {
  const seq = Atomics.add(control, SEQ, 1) + 2
  Atomics.store(control, TABLES, tables)
  Atomics.store(control, PHASE, phase)
  Atomics.store(control, FAILED, 0)
  Atomics.add(control, SEQ, 1)
  Atomics.notify(control, SEQ)
  return { seq, tables, phase }
}

/** The current phase, read consistently (retrying while the caller is writing it). */
export function readJob (control: Int32Array): Job {
  for (;;) {
    const seq = Atomics.load(control, SEQ)
    if ((seq & 1) === 0) {
      const job = { seq, tables: Atomics.load(control, TABLES), phase: Atomics.load(control, PHASE) }
      if (Atomics.load(control, SEQ) === seq) return job
    }
  }
}

/**
 * The helper's claim on row d: only a row last touched in an earlier phase. False once the caller
 * has reached the row (the caller claims upward, so nothing is left below), and always false for
 * a helper still working on an old phase, whose rows have all moved on.
 */
export function claimRow (states: Int32Array, seq: number, d: number): boolean {
  const v = Atomics.load(states, d)
  // Signed distance between phase tags, so the comparison survives the tag's wrap-around.
  const older = (((v & ~3) - tag(seq, 0)) | 0) < 0
  return older && Atomics.compareExchange(states, d, v, tag(seq, HELPER)) === v
}

/** The helper's publication: true when row d is still its own and may be copied in. */
export function beginPublish (states: Int32Array, seq: number, d: number): boolean {
  return Atomics.compareExchange(states, d, tag(seq, HELPER), tag(seq, PUBLISHING)) === tag(seq, HELPER)
}

export function endPublish (states: Int32Array, seq: number, d: number): void {
  Atomics.store(states, d, tag(seq, PUBLISHED))
  Atomics.notify(states, d)
}
