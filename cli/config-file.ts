import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { parse as parseYaml } from 'yaml'
import { ConfigError } from '../src/errors.js'

/**
 * --config FILE: YAML or JSON whose keys are the command's long flags ("mesh-key-file"; camelCase
 * is accepted too). Values from the file fill every option not given on the command line; flags win.
 */
export async function applyConfigFile (cmd: Command, path: string): Promise<void> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`--config '${path}' cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  let doc: unknown
  try {
    doc = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text)
  } catch (err) {
    throw new ConfigError(`--config '${path}' is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`)
  }
  if (doc === null || doc === undefined) return
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`--config '${path}' must hold a mapping of flag names to values, like {"listen": "127.0.0.1:7001"}`)
  const byName = new Map<string, { attr: string, variadic: boolean, boolean: boolean }>()
  for (const opt of cmd.options) {
    if (opt.long === undefined || opt.long === '--config') continue
    const info = { attr: opt.attributeName(), variadic: opt.variadic || Array.isArray(opt.defaultValue), boolean: opt.isBoolean() }
    byName.set(opt.long.slice(2), info)
    byName.set(opt.attributeName(), info)
  }
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    const info = byName.get(key)
    if (info === undefined) {
      const known = [...new Set([...byName.keys()].filter((k) => k.includes('-') || k === k.toLowerCase()))].join(', ')
      throw new ConfigError(`--config '${path}': unknown key '${key}'; known keys are ${known}`)
    }
    if (cmd.getOptionValueSource(info.attr) === 'cli') continue
    const bad = (want: string): never => { throw new ConfigError(`--config '${path}': key '${key}' must be ${want}, got ${JSON.stringify(value)}`) }
    let v: unknown
    if (info.boolean) {
      if (typeof value !== 'boolean') bad('true or false')
      v = value
    } else if (info.variadic) {
      const list = Array.isArray(value) ? value : [value]
      if (!list.every((x) => typeof x === 'string' || typeof x === 'number')) bad('a string or a list of strings')
      v = list.map(String)
    } else {
      if (typeof value !== 'string' && typeof value !== 'number') bad('a string or a number')
      v = String(value)
    }
    cmd.setOptionValueWithSource(info.attr, v, 'config')
  }
}
