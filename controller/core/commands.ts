import type { CoreCommand, TimerName } from './types.js'

/** Where the core's parts put their commands while one event is handled. */
export class CommandSink {
  private list: CoreCommand[] = []

  push (c: CoreCommand): void { this.list.push(c) }
  log (level: 'debug' | 'info' | 'warn', fields: Record<string, unknown>, msg: string): void { this.list.push({ type: 'log', level, fields, msg }) }
  /** Arms timer `timer` to fire in `ms` (every `ms` when `repeat`), replacing any armed one of that name. */
  setTimer (timer: TimerName, ms: number, repeat = false): void { this.list.push({ type: 'set-timer', timer, ms, repeat }) }
  clearTimer (timer: TimerName): void { this.list.push({ type: 'clear-timer', timer }) }

  /** The commands so far, leaving the sink empty. */
  take (): CoreCommand[] {
    const out = this.list
    this.list = []
    return out
  }
}
