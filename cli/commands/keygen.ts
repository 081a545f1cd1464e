import { Command } from 'commander'
import { writeMeshKeyFile } from '../../src/mesh-key.js'
import { withCommonOptions } from '../common.js'

export function keygenCommand (): Command {
  return withCommonOptions(new Command('keygen'))
    .description('write a new mesh key file: one line, base64 of 32 random bytes, mode 0600')
    .argument('<file>', 'path of the key file to create')
    .option('--force', 'replace the file if it exists', false)
    .addHelpText('after', '\nEvery relay and controller of one mesh reads the same key file (--mesh-key-file).\nExample:\n  relaymesh keygen mesh.key')
    .action(async (file: string, opts: { force: boolean }) => {
      await writeMeshKeyFile(file, opts.force)
      process.stderr.write(`wrote mesh key to ${file}\n`)
    })
}
