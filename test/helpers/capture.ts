import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import dgram from 'node:dgram'
import { readFile, stat } from 'node:fs/promises'

/**
 * Why capture tests cannot run here, or undefined when they can. Under CI
 * (RELAYMESH_REQUIRE_TCPDUMP=1) a missing tcpdump is a failure, never a skip.
 */
export function tcpdumpUnavailable (): string | undefined {
  if (spawnSync('tcpdump', ['--version']).status === 0) return undefined
  const why = 'tcpdump is not installed (apt-get install tcpdump)'
  if (process.env.RELAYMESH_REQUIRE_TCPDUMP === '1') throw new Error(`${why}, and RELAYMESH_REQUIRE_TCPDUMP=1`)
  return why
}

/** A running tcpdump on the loopback interface, writing a pcap file. */
export class Capture {
  private constructor (private readonly proc: ChildProcess, readonly file: string) {}

  /**
   * Starts tcpdump on `lo` with the BPF `filter`, and resolves once it captures: it sends a small
   * datagram to `probePort` (which the filter must take) every 50 ms until the capture file, which
   * tcpdump writes packet by packet (-U), holds more than its header.
   */
  static async start (file: string, filter: string, probePort: number): Promise<Capture> {
    const proc = spawn('tcpdump', ['-i', 'lo', '-U', '-n', '-Z', 'root', '-w', file, filter], { stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    let exited = false
    proc.stderr?.setEncoding('utf8').on('data', (d: string) => { err += d })
    proc.once('exit', () => { exited = true })
    const probe = dgram.createSocket('udp4')
    await new Promise<void>((resolve) => { probe.bind(0, '127.0.0.1', resolve) })
    try {
      const end = Date.now() + 30_000
      for (;;) {
        if (exited) throw new Error(`tcpdump exited: ${err}`)
        if (Date.now() > end) throw new Error(`tcpdump captured nothing in 30 s: ${err}`)
        if (((await stat(file).catch(() => undefined))?.size ?? 0) > 24) break
        probe.send('capture-ready', probePort, '127.0.0.1')
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    } finally {
      probe.close()
    }
    return new Capture(proc, file)
  }

  /** Stops the capture (SIGINT, so tcpdump flushes) and returns the UDP payloads it saw. */
  async stop (): Promise<UdpDatagram[]> {
    const done = new Promise<void>((resolve) => { this.proc.once('exit', () => { resolve() }) })
    this.proc.kill('SIGINT')
    await done
    return parsePcap(await readFile(this.file))
  }
}

export interface UdpDatagram { srcPort: number, dstPort: number, payload: Buffer }

/**
 * The UDP datagrams over IPv4 in a classic pcap file (link type Ethernet, which Linux gives `lo`,
 * or Linux cooked capture). Written here: the format is a 24-byte file header, then per packet a
 * 16-byte record header and the captured bytes.
 */
export function parsePcap (buf: Buffer): UdpDatagram[] {
  const magic = buf.readUInt32LE(0)
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d
  const u32 = (o: number): number => le ? buf.readUInt32LE(o) : buf.readUInt32BE(o)
  const linkType = u32(20)
  const linkHeader = linkType === 1 ? 14 : linkType === 113 ? 16 : -1
  if (linkHeader < 0) throw new Error(`pcap link type ${linkType} not handled`)
  const out: UdpDatagram[] = []
  for (let o = 24; o + 16 <= buf.length;) {
    const caplen = u32(o + 8)
    const pkt = buf.subarray(o + 16, o + 16 + caplen)
    o += 16 + caplen
    const ip = pkt.subarray(linkHeader)
    if (ip.length < 20 || ip[0] >> 4 !== 4 || ip[9] !== 17) continue
    const udp = ip.subarray((ip[0] & 0x0f) * 4)
    if (udp.length < 8) continue
    out.push({ srcPort: udp.readUInt16BE(0), dstPort: udp.readUInt16BE(2), payload: Buffer.from(udp.subarray(8, udp.readUInt16BE(4))) })
  }
  return out
}
