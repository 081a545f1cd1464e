import type { Clock, Timer } from '../../src/clock.js'
import type { ControllerCore } from './controller-core.js'
import type { CoreCommand, CoreEvent, TimerName } from './types.js'

/**
 * What every shell of the core does alike: hands events over one at a time (an event raised while
 * the commands of another run, such as a version answered at once, is handled after them), arms
 * the core's named timers on the shell's clock and fires them back as timer events, and passes
 * every other command to the shell. `M` is what the shell records beside an event (the message it
 * came from).
 */
export class CoreDriver<M = undefined> {
  private readonly core: ControllerCore
  private readonly clock: Clock
  private readonly execute: (c: CoreCommand) => void
  private readonly record: ((at: number, event: CoreEvent, message: M | undefined, commands: CoreCommand[]) => void) | undefined
  private readonly timers = new Map<TimerName, Timer>()
  private readonly queue: Array<{ event: CoreEvent, message: M | undefined }> = []
  private draining = false

  constructor (components: { core: ControllerCore, clock: Clock }, hooks: { execute: (c: CoreCommand) => void, record?: (at: number, event: CoreEvent, message: M | undefined, commands: CoreCommand[]) => void }) {
    this.core = components.core
    this.clock = components.clock
    this.execute = hooks.execute
    this.record = hooks.record
  }

  dispatch (event: CoreEvent, message?: M): void {
    this.queue.push({ event, message })
    if (this.draining) return
    this.draining = true
    try {
      for (let e = this.queue.shift(); e !== undefined; e = this.queue.shift()) {
        const at = this.clock.monoMs()
        const commands = this.core.handle(e.event, at)
        this.record?.(at, e.event, e.message, commands)
        for (const c of commands) {
          if (c.type === 'set-timer') this.setTimer(c.timer, c.ms, c.repeat)
          else if (c.type === 'clear-timer') this.clearTimer(c.timer)
          else this.execute(c)
        }
      }
    } finally {
      this.draining = false
    }
  }

  /** Disarms every timer (the shell stops). */
  clearTimers (): void {
    for (const t of this.timers.values()) this.clock.clearTimer(t)
    this.timers.clear()
  }

  private setTimer (timer: TimerName, ms: number, repeat: boolean): void {
    this.clearTimer(timer)
    const fire = (): void => { if (!repeat) this.timers.delete(timer); this.dispatch({ type: 'timer', timer }) }
    this.timers.set(timer, repeat ? this.clock.setInterval(fire, ms) : this.clock.setTimeout(fire, ms))
  }

  private clearTimer (timer: TimerName): void {
    const t = this.timers.get(timer)
    if (t === undefined) return
    this.clock.clearTimer(t)
    this.timers.delete(timer)
  }
}
