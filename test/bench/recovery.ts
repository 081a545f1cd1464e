/**
 * bench:recovery: per-hop recovery (docs/recovery.md) on a chain a – b – c – d of relays in this
 * process, on real UDP, whose middle link b → c loses 20% of packets and has 40 ms of RTT (the way
 * back, which carries FEEDBACK, is clean); the other links have 10 ms. Numbered datagrams go
 * through a tunnel from a to a sink behind d. Each figure is measured with recovery on and, as the
 * baseline, off, in the same run:
 *
 *   audio: RELAYMESH_BENCH_PACKETS (3,000) at 50 packets a second, class audio: delivered loss,
 *     and the p99 latency added over the fastest packet;
 *   video: as many at 500 a second, class video: delivered loss.
 *   recovery_overhead_ratio: what b sent on the lossy link (originals and copies) over what a link
 *     with the measured loss needs for the same packets, originals / (1 − loss).
 *
 * Prints one JSON line. Signaling, redundant paths and the kernel-made loss are not built yet.
 */
import { Reason } from '../../src/wire/reasons.js'
import { flowFigures, sendNumbered, startChain, type ChainInit } from '../helpers/static-chain.js'

const PACKETS = Number(process.env.RELAYMESH_BENCH_PACKETS ?? 3000)
const SIZE = 160
const log = (m: string): void => { process.stderr.write(`bench recovery: ${m}\n`) }
const r3 = (x: number): number => Math.round(x * 1000) / 1000
const r1 = (x: number): number => Math.round(x * 10) / 10

const LOSSY: ChainInit = {
  ids: ['a', 'b', 'c', 'd'],
  impair: [{ delayMs: 5 }, { delayMs: 20, loss: 0.2 }, { delayMs: 5 }],
  reverse: [{ delayMs: 5 }, { delayMs: 20 }, { delayMs: 5 }]
}

async function run (tunnelClass: string, pps: number, recovery: boolean): Promise<Record<string, number>> {
  const chain = await startChain({ ...LOSSY, tunnelClass, recovery: recovery ? undefined : false })
  try {
    const b = chain.relays[1]
    const before = { forwarded: b.plane.counters.forwarded }
    const sentAt = await sendNumbered(chain, PACKETS, pps, SIZE, 1_500)
    const f = flowFigures(chain, sentAt)
    const link = chain.emulators[1].stats('127.0.0.1', chain.ports[2])
    const originals = b.plane.counters.forwarded - before.forwarded
    const copies = b.recovery?.counters.retransmissions ?? 0
    const linkLoss = link === undefined || link.offered === 0 ? NaN : link.dropped.loss / link.offered
    const r = {
      loss: r3(f.loss),
      p50_added_ms: r1(f.p50AddedMs),
      p99_added_ms: r1(f.p99AddedMs),
      duplicates: f.duplicates,
      copies,
      unrecoverable: b.plane.counters.dropped[Reason.UNRECOVERABLE],
      link_loss: r3(linkLoss),
      overhead_ratio: r3((originals + copies) / (originals / (1 - linkLoss)))
    }
    log(`${tunnelClass} at ${pps} pps, recovery ${recovery ? 'on' : 'off'}: ${JSON.stringify(r)}`)
    return r
  } finally {
    await chain.stop()
  }
}

const audioOff = await run('audio', 50, false)
const audioOn = await run('audio', 50, true)
const videoOff = await run('video', 500, false)
const videoOn = await run('video', 500, true)
process.stdout.write(JSON.stringify({
  bench: 'recovery',
  packets: PACKETS,
  lossy_link: { loss: 0.2, rtt_ms: 40 },
  audio_pps: 50,
  audio_loss_on: audioOn.loss,
  audio_loss_off: audioOff.loss,
  audio_p99_added_ms: audioOn.p99_added_ms,
  audio_p99_added_ms_off: audioOff.p99_added_ms,
  video_pps: 500,
  video_loss_on: videoOn.loss,
  video_loss_off: videoOff.loss,
  video_p99_added_ms: videoOn.p99_added_ms,
  recovery_overhead_ratio: Math.max(audioOn.overhead_ratio, videoOn.overhead_ratio),
  audio: audioOn,
  video: videoOn,
  signal_delivered_pct: null,
  redundant_lost: null
}) + '\n')
