import { runModel } from './model/run-model.js'
import { runProcess } from './process/runner.js'
import type { Scenario } from './scenario.js'
import type { SimResult } from './types.js'

export type SimMode = 'process' | 'model'

export interface RunOptions {
  /** About once a second (process) or per simulated second (model), the scenario time reached. */
  onProgress?: (tS: number) => void
  onNote?: (msg: string, fields?: Record<string, unknown>) => void
}

/** Runs a scenario in either mode; both produce the same SimResult shape. */
export async function runScenario (s: Scenario, mode: SimMode, opts: RunOptions = {}): Promise<SimResult> {
  if (mode === 'model') return await runModel(s, { onProgress: opts.onProgress })
  return await runProcess(s, opts)
}
