import { Command, Option } from 'commander'
import { Presets, SingleBar } from 'cli-progress'
import { killAllDaemons } from '../../sim/process/daemons.js'
import { loadScenario } from '../../sim/scenario.js'
import { runScenario, type SimMode } from '../../sim/run.js'
import { summaryLine, writeReport } from '../../sim/report.js'
import { loggerFor, withCommonOptions } from '../common.js'
import { hasNodeFlag, MODEL_SEMI_SPACE_MB, rerunWith, SEMI_SPACE_FLAG, endWithParent } from '../rerun.js'

interface SimOptions { mode: SimMode, json?: boolean, out?: string, progress: boolean, logLevel: string }

export function simCommand (): Command {
  return withCommonOptions(new Command('sim'))
    .description('run a link-quality scenario and report delivered loss, latency, path changes and convergence against the direct path')
    .argument('<scenario>', 'scenario file, YAML or JSON (docs/simulation.md; examples in examples/scenarios)')
    .addOption(new Option('--mode <mode>', 'process: the real controller and relays as processes on loopback; model: in process on a virtual clock').choices(['process', 'model']).default('process'))
    .option('--json', 'print the result as one JSON document on stdout')
    .option('--out <dir>', 'write result.json, report.md and SVG charts here (default: sim-results/<scenario name>-<mode>)')
    .option('--no-progress', 'no progress bar on stderr')
    .addHelpText('after', `
Examples:
  relaymesh sim examples/scenarios/lossy-transit.yaml
  relaymesh sim examples/scenarios/scale-1000.yaml --mode model --out /tmp/scale
  relaymesh sim examples/scenarios/triangle-failover.yaml --json > result.json

Process mode takes the scenario's duration in real time, plus a warm-up until routes settle. Model
mode runs as fast as the machine allows. Logs and the progress bar go to stderr.`)
    .action(async (file: string, opts: SimOptions) => {
      if (opts.mode === 'model' && !hasNodeFlag(SEMI_SPACE_FLAG)) {
        process.exitCode = await rerunWith(`${SEMI_SPACE_FLAG}=${MODEL_SEMI_SPACE_MB}`, 'relaymesh sim')
        return
      }
      endWithParent()
      const log = loggerFor({ logLevel: opts.logLevel === 'info' ? 'warn' : opts.logLevel })
      const scenario = await loadScenario(file)
      const out = opts.out ?? `sim-results/${scenario.name.replace(/[^A-Za-z0-9._-]+/g, '-')}-${opts.mode}`
      const bar = opts.progress && process.stderr.isTTY === true
        ? new SingleBar({ format: `${scenario.name} (${opts.mode}) [{bar}] {value}/{total} s simulated`, stream: process.stderr, hideCursor: true }, Presets.shades_classic)
        : undefined
      // A run owns daemon processes: an interrupted run must take them down with it.
      const onSignal = (sig: NodeJS.Signals): void => {
        bar?.stop()
        process.stderr.write(`relaymesh sim: ${sig}; stopping the daemons it started\n`)
        killAllDaemons()
        process.exit(130)
      }
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
      bar?.start(Math.ceil(scenario.duration_s), 0)
      let result
      try {
        result = await runScenario(scenario, opts.mode, {
          onProgress: (t) => { bar?.update(Math.floor(t)) },
          onNote: (msg, fields) => { log.info(fields ?? {}, msg) }
        })
      } finally {
        bar?.stop()
      }
      const files = await writeReport(result, out)
      if (opts.json === true) process.stdout.write(JSON.stringify(result) + '\n')
      process.stderr.write(`${summaryLine(result)}\nreport: ${files.markdown}\n`)
    })
}
