import { TICK_PROBE, TICK_WENT_DOWN, type LinkMonitorOptions } from '../../prober/link-monitor.js'
import type { LinkStatus } from '../../prober/prober.js'
import type { ImpairmentModel, ImpairParams } from '../../src/transport/impair/model.js'
import { mixSeed, Stream } from './seeds.js'
import type { LinkTable, SimLink } from './sim-link.js'
import { MonitorPool, type SizedLinkMonitor } from './sized-monitor.js'
import { TickWheel } from './tick-wheel.js'
import type { VirtualClock } from './virtual-clock.js'

/** What the probe engine needs of the relays. */
export interface ProbeHooks {
  /** The prober's linkup / linkdown events: `owner`'s monitor of its link to `peer` changed state. */
  linkChange: (owner: number, peer: number, up: boolean) => void
  /** The boot epoch a relay puts in its echoes. */
  epoch: (relay: number) => number
}

const NONE = -1
/**
 * A pending echo: arrival time, probe sequence, peer's count, peer's epoch, sent at, the probe's
 * arrival at the peer, and the outage count (SimLink.outageChanges) when it was sent.
 */
const ECHO = 7
/** Echoes taken from the front of a queue before what is left moves down (see `step`). */
const COMPACT_AFTER = 32 * ECHO

/** One probed link: owner → peer. */
interface ProbeLink {
  owner: number
  peer: number
  /** The slot of the peer's monitor of the same pair (it counts our probes), or NONE. */
  mate: number
  /** The owner's boot epoch, which its echoes carry; a restart makes new links. */
  epoch: number
  monitor: SizedLinkMonitor
  fwd: SimLink | undefined
  rev: SimLink | undefined
  /** Probe models of fwd (our probes) and rev (their echoes); undefined when the pair is not connected. */
  out: ImpairmentModel | undefined
  back: ImpairmentModel | undefined
  /**
   * The link's status as last estimated (see `changed`). One object per link, updated in place: a
   * fresh one each time would live just long enough to be promoted out of V8's young generation,
   * and the old-generation collections that follow cost more than everything else a probe does.
   * Nothing that receives it keeps it.
   */
  status: LinkStatus
  /** Echoes or a state change came since `changed` last looked at the link. */
  dirty: boolean
  /**
   * Echoes on their way, ECHO numbers each, in arrival order in [head, tail). The array is reused
   * in place rather than shrunk, so probing allocates nothing.
   */
  pending: number[]
  head: number
  tail: number
  /** Off the wheel, visited in batches (see `settle`); `nextAt` is then the tick of its next visit. */
  quiet: boolean
  nextAt: number
  /** Sequence of the last probe whose echo will not come, and of the last echo taken in. */
  lostSeq: number
  echoSeq: number
}

/**
 * Every relay's probing of its neighbours, on the real estimators: one LinkMonitor (prober/) per
 * directed neighbour link, driven as prober/prober.ts drives it, with the packets replaced by the
 * links' impairment models.
 *
 * The prober's 5 ms tick is kept: at each tick a link due for attention (LinkMonitor.nextWake, through
 * a timing wheel) first takes the echoes that arrived since its last visit, at their arrival
 * times, then the monitor's tick(now), the prober's own step (check, and a probe if due). A probe's whole round trip is decided when it is
 * sent: its probe model on owner→peer says whether and when it reaches the peer, the peer counts
 * it on its own monitor of the pair (a relay answers only neighbours it probes itself), and the
 * echo's probe model on peer→owner says whether and when the count comes back; an outage that
 * starts while either leg is in flight still drops it (SimLink.outageAt).
 *
 * The monitor thus sees exactly the calls the real prober makes, in the same order and with the
 * same times: echoes at their arrival, tick at ticks. What others see of an echo
 * (a link coming up, new figures for the reporter) lands at the next tick, at most 5 ms late. No
 * probe costs a heap event or an allocation.
 *
 * Quiet links are visited in batches. A link that is up, with no loss in its short window, over
 * legs that lose nothing, shows nothing new to anyone until the scenario changes one of its legs,
 * the peer stops answering, or a report reads its figures: it stays up, its loss stays 0, no alert
 * probing starts. Such a link leaves the wheel, and its prober ticks run later, in one go, with
 * the same calls and times: before its relay's Reporter may send a scheduled report (`settle`),
 * before a change to either leg (`linkWillChange`, from SimLink), and when its peer's monitor of
 * the pair goes. At 1,000 relays this halves the run time: a link's state is touched once a second
 * instead of at every probe and echo. A test holds batched links to the link changes and figures
 * of tick-by-tick probing.
 *
 * Known departures, all at the edges: a quiet link's RTT reaches the Reporter's threshold check
 * only when its relay's next scheduled report is due (at most 1 s later, DEFAULT_REPORT_INTERVAL_MS;
 * that report's figures are exact); the peer counts a probe when it is sent rather than when it
 * arrives (they differ only for a probe an outage then drops in flight), the echo leg is decided
 * with the link state at the probe's sending (a schedule step within one flight time is missed),
 * and a relay only answers a probe if it already probed the sender when the probe left.
 */
export class ProbeEngine {
  private readonly clock: VirtualClock
  private readonly links: LinkTable
  private readonly ids: readonly string[]
  private readonly hooks: ProbeHooks
  private readonly monitors: MonitorPool
  private readonly tickMs: number
  private readonly seed: number
  private readonly batching: boolean
  private readonly wheel: TickWheel
  private readonly slots: Array<ProbeLink | undefined> = []
  private readonly free: number[] = []
  /** Links dropped, kept with their echo queues for the next ones (their monitors go to the pool). */
  private readonly spare: ProbeLink[] = []
  /** Per relay: peer → slot of its monitor of that link, in the order the links were added. */
  private readonly slotOf: Array<Map<number, number>>
  /** Per relay: slots with new figures since `changed` last ran. */
  private readonly dirty: number[][]
  /**
   * What `changed` and `statuses` return, refilled by each call: the reporter reads the list at
   * once and keeps none of it, and 1,000 relays ask 20 times a second.
   */
  private readonly changedOut: LinkStatus[] = []
  private readonly statusOut: LinkStatus[] = []
  /** Time of the latest prober tick: quiet links are brought up to it when read. */
  private lastTick = -Infinity
  /** Probes sent and monitors created, for the run's statistics. */
  probes = 0
  created = 0
  /** Link state changes met while catching up a quiet link: 0 unless `mayQuiet` breaks its promise. */
  lateChanges = 0
  /** Prober ticks run for quiet links in batches rather than from the wheel. */
  batched = 0
  get built (): number { return this.monitors.built }
  /** Numbers the echo queues of live links hold room for, in use or not. */
  get queueRoom (): number {
    let n = 0
    for (const l of this.slots) if (l !== undefined) n += l.pending.length
    return n
  }

  /**
   * `quiet: false` keeps every link on the wheel, visited tick by tick: slower, and what a test
   * holds the batched (quiet) links to.
   */
  constructor (components: { clock: VirtualClock, links: LinkTable, hooks: ProbeHooks }, init: { ids: readonly string[], monitor: Partial<LinkMonitorOptions>, tickMs: number, seed: number, quiet?: boolean }) {
    this.clock = components.clock
    this.links = components.links
    this.hooks = components.hooks
    this.ids = init.ids
    this.monitors = new MonitorPool(init.monitor, init.tickMs)
    this.tickMs = init.tickMs
    this.seed = init.seed
    this.batching = init.quiet ?? true
    this.wheel = new TickWheel(init.tickMs)
    this.slotOf = init.ids.map(() => new Map())
    this.dirty = init.ids.map(() => [])
  }

  /** Starts probing owner→peer with a fresh monitor (the link starts down, as in the prober). */
  add (owner: number, peer: number): void {
    if (this.slotOf[owner].has(peer)) return
    const now = this.clock.now
    const s = this.free.length > 0 ? this.free.pop() as number : this.slots.length
    const mate = this.slotOf[peer].get(owner) ?? NONE
    const fwd = this.links.get(owner, peer)
    const rev = this.links.get(peer, owner)
    const n = this.created++
    const monitor = this.monitors.take(now)
    const out = fwd?.probeModel(mixSeed(this.seed, Stream.probe, n, 0))
    const back = rev?.probeModel(mixSeed(this.seed, Stream.probe, n, 1))
    const old = this.spare.pop()
    if (old === undefined) {
      this.slots[s] = {
        owner,
        peer,
        mate,
        epoch: this.hooks.epoch(owner),
        monitor,
        fwd,
        rev,
        out,
        back,
        status: monitor.estimateInto(now, { peer: this.ids[peer], state: 'down', rttMs: NaN, jitterMs: 0, loss: 1, lossShort: 1, lossReverse: 1, samples: 0 }),
        dirty: false,
        pending: [],
        head: 0,
        tail: 0,
        quiet: false,
        nextAt: 0,
        lostSeq: -1,
        echoSeq: -1
      }
    } else {
      // A new monitor's estimate: the link starts down, as in the prober.
      old.status.peer = this.ids[peer]
      monitor.estimateInto(now, old.status)
      old.owner = owner; old.peer = peer; old.mate = mate; old.epoch = this.hooks.epoch(owner); old.monitor = monitor
      old.fwd = fwd; old.rev = rev; old.out = out; old.back = back
      old.dirty = false; old.head = 0; old.tail = 0; old.quiet = false
      old.lostSeq = -1; old.echoSeq = -1
      this.slots[s] = old
    }
    if (mate !== NONE) (this.slots[mate] as ProbeLink).mate = s
    this.slotOf[owner].set(peer, s)
    this.wheel.schedule(s, now, now)
  }

  remove (owner: number, peer: number): void {
    const s = this.slotOf[owner].get(peer)
    if (s === undefined) return
    this.slotOf[owner].delete(peer)
    const l = this.slots[s] as ProbeLink
    // Its last probes count in the run's statistics, as the wheel would have sent them.
    if (l.quiet) this.catchUp(s, l)
    if (l.mate !== NONE) {
      const mate = this.slots[l.mate] as ProbeLink
      // The peer stops answering its probes: that link will go down, which others must see on time.
      this.wake(l.mate)
      mate.mate = NONE
    }
    if (l.out !== undefined) l.fwd?.dropProbeModel(l.out)
    if (l.back !== undefined) l.rev?.dropProbeModel(l.back)
    this.slots[s] = undefined
    this.wheel.cancel(s)
    this.free.push(s)
    this.monitors.give(l.monitor)
    // A dirty link may still be listed in its owner's dirty list; the slot check in `changed` skips it.
    l.dirty = false
    this.spare.push(l)
  }

  /** Stops all of a relay's probing (it went down); its monitors are gone with it. */
  removeAll (owner: number): void {
    for (const peer of [...this.slotOf[owner].keys()]) this.remove(owner, peer)
  }

  peers (owner: number): IterableIterator<number> { return this.slotOf[owner].keys() }

  /** What the prober's status() gives the reporter: every link of `owner`, estimated now. */
  statuses (owner: number): LinkStatus[] {
    this.settle(owner)
    const out = this.statusOut
    out.length = 0
    for (const s of this.slotOf[owner].values()) out.push(this.estimate(s))
    return out
  }

  /**
   * The links of `owner` that had echoes or a state change since the last call, with the figures
   * a report decision reads. The real Reporter asks its policy about every link 20 times a second;
   * a link that did not change since it was last asked cannot have crossed a threshold since (the
   * policy compares with what was last sent, and a send resets that to the link's own figures), so
   * asking about the changed ones alone gives the same answer.
   *
   * ReportPolicy decides on state, short-window loss and RTT (prober/reporter.ts). Those figures
   * are taken when the link changes, at the tick that handles the echo or the state change, while
   * its monitor is still in the cache (estimateInto without the long
   * windows, in `step`); at 20,000 links, reading them again here at the
   * check, up to 50 ms later, missed the cache for every link. State and RTT cannot move in
   * between. The short-window loss can, when its oldest sample leaves the window meanwhile; the
   * check then sees the figure as of the link's last change, as it already did for links without
   * a change since the check before. The long-window figures, which the decision does not read,
   * are left as last estimated until a report goes out.
   */
  changed (owner: number): LinkStatus[] {
    const list = this.dirty[owner]
    const out = this.changedOut
    out.length = 0
    for (const s of list) {
      const l = this.slots[s]
      if (l === undefined || !l.dirty || l.owner !== owner) continue
      l.dirty = false
      out.push(l.status)
    }
    list.length = 0
    return out
  }

  /** The prober's tick, for every relay at once. */
  tick (): void {
    const now = this.clock.now
    this.lastTick = now
    this.wheel.take(now, (s) => { this.visit(s, now) })
  }

  /**
   * Brings `owner`'s quiet links up to the latest tick. Called before its Reporter may send a
   * scheduled report (and by `statuses`), the only reads of a quiet link's figures.
   */
  settle (owner: number): void {
    for (const s of this.slotOf[owner].values()) {
      const l = this.slots[s] as ProbeLink
      if (l.quiet) this.catchUp(s, l)
    }
  }

  /** The scenario is about to change the directed link from→to: the links probing across it leave quiet. */
  linkWillChange (from: number, to: number): void {
    const a = this.slotOf[from].get(to)
    if (a !== undefined) this.wake(a)
    const b = this.slotOf[to].get(from)
    if (b !== undefined) this.wake(b)
  }

  /** A wheel visit: the link's prober tick, then back on the wheel or, if it may, quiet. */
  private visit (s: number, now: number): void {
    const l = this.slots[s] as ProbeLink
    const at = this.step(s, l, now)
    if (this.mayQuiet(l, now)) {
      l.quiet = true
      l.nextAt = this.tickAfter(at, now)
    } else {
      this.wheel.schedule(s, at, now)
    }
  }

  /**
   * Whether nothing anyone else sees of this link can change until the scenario changes the link,
   * the peer stops answering, or its figures are read: the link is up, its short-window loss is 0
   * (so no threshold crossing, peak or alert can come without a new loss), both legs lose nothing
   * (no loss, burst, outage or rate limit), the peer answers, and every probe since the last echo
   * has an echo on its way. Echoes then keep coming one probe interval apart, well inside the down
   * timeout, so it stays up; its RTT still moves, which a scheduled report (or any report) carries.
   */
  private mayQuiet (l: ProbeLink, now: number): boolean {
    if (!this.batching || l.mate === NONE || l.out === undefined || l.back === undefined || l.monitor.state !== 'up') return false
    // A probe sent since the last echo went unanswered: the silence may already run into the down timeout.
    if (l.lostSeq > l.echoSeq) return false
    if (!lossless(l.out.params) || !lossless(l.back.params)) return false
    return l.monitor.lossShortWindow.forward(now) === 0
  }

  /** Runs a quiet link's prober ticks up to the latest tick, as the wheel would have. */
  private catchUp (s: number, l: ProbeLink): void {
    const until = this.lastTick
    while (l.nextAt <= until) {
      const now = l.nextAt
      l.nextAt = this.tickAfter(this.step(s, l, now), now)
      this.batched++
    }
  }

  /** Brings a quiet link up to date and puts it back on the wheel. */
  private wake (s: number): void {
    const l = this.slots[s]
    if (l === undefined || !l.quiet) return
    this.catchUp(s, l)
    l.quiet = false
    this.wheel.schedule(s, l.nextAt, this.lastTick)
  }

  /** The tick the wheel would visit a link at, asked at tick `now` for time `at` (TickWheel.schedule). */
  private tickAfter (at: number, now: number): number {
    const t = this.tickMs
    return Math.max(Math.round(now / t) + 1, Math.ceil(at / t - 1e-9)) * t
  }

  /**
   * What the real prober does for one link by tick `now`: echoes that came in, check, probe.
   * Returns when it next has something to do.
   */
  private step (s: number, l: ProbeLink, now: number): number {
    const m = l.monitor
    let changed = false
    const p = l.pending
    while (l.head < l.tail && p[l.head] <= now) {
      const i = l.head
      l.head += ECHO
      const at = p[i]
      // Outages are rare: look them up only if one began or ended since the probe left.
      if (p[i + 6] !== this.links.env.outageChanges && ((l.fwd as SimLink).outageAt(p[i + 5]) || (l.rev as SimLink).outageAt(at))) {
        l.lostSeq = p[i + 1]
        continue
      }
      if (m.echo(at, p[i + 1], at - p[i + 4], p[i + 2], p[i + 3])) this.linkChange(l, true)
      l.echoSeq = p[i + 1]
      changed = true
    }
    if (l.head === l.tail) {
      l.head = 0
      l.tail = 0
    } else if (l.head >= COMPACT_AFTER) {
      // On a link whose RTT exceeds the probe interval an echo is always in flight, so the queue
      // never empties: move what is left to the front, or it grows by a probe's worth each probe.
      p.copyWithin(0, l.head, l.tail)
      l.tail -= l.head
      l.head = 0
    }
    // The prober's own step: the silence check, then a probe if due.
    const did = m.tick(now)
    if ((did & TICK_WENT_DOWN) !== 0) {
      this.linkChange(l, false)
      changed = true
    }
    if (changed) {
      // The figures a report decision reads, as of now (see `changed`).
      m.estimateInto(now, l.status, false)
      if (!l.dirty) {
        l.dirty = true
        this.dirty[l.owner].push(s)
      }
    }
    if ((did & TICK_PROBE) !== 0) this.send(l, now, m.probeSeq - 1)
    const wake = m.nextWake(now, this.tickMs)
    return l.head < l.tail ? Math.min(wake, p[l.head]) : wake
  }

  private linkChange (l: ProbeLink, up: boolean): void {
    if (l.quiet) this.lateChanges++
    this.hooks.linkChange(l.owner, l.peer, up)
  }

  /** Decides the round trip of the probe `seq` the monitor just sent (see the class comment). */
  private send (l: ProbeLink, now: number, seq: number): void {
    this.probes++
    if (!this.roundTrip(l, now, seq)) l.lostSeq = seq
  }

  /** Decides a probe's round trip and queues its echo; false when no echo will come. */
  private roundTrip (l: ProbeLink, now: number, seq: number): boolean {
    if (l.out === undefined || l.back === undefined || l.mate === NONE) return false
    const arrives = l.out.decide(now)
    if (arrives < 0) return false
    const mate = this.slots[l.mate] as ProbeLink
    const rx = mate.monitor.probeReceived()
    const returns = l.back.decide(arrives)
    if (returns < 0) return false
    const p = l.pending
    const i = l.tail
    l.tail += ECHO
    p[i] = returns; p[i + 1] = seq; p[i + 2] = rx; p[i + 3] = mate.epoch
    p[i + 4] = now; p[i + 5] = arrives; p[i + 6] = this.links.env.outageChanges
    return true
  }

  /** The link's full estimate now, as the real prober's status() gives it. */
  private estimate (s: number): LinkStatus {
    const l = this.slots[s] as ProbeLink
    return l.monitor.estimateInto(this.clock.now, l.status)
  }
}

function lossless (p: ImpairParams): boolean {
  return !p.outage && p.burst === null && p.loss === 0 && p.ratePps === 0
}
