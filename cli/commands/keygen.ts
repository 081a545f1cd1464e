import { Command } from 'commander'
import { writeIdentityFiles } from '../../src/identity.js'
import { writeMeshKeyFile } from '../../src/mesh-key.js'
import { withCommonOptions } from '../common.js'

export function keygenCommand (): Command {
  return withCommonOptions(new Command('keygen'))
    .description('write a new mesh key file: one line, base64 of 32 random bytes, mode 0600')
    .argument('<file>', 'path of the key file to create')
    .option('--identity', 'write a relay or controller identity instead: FILE (secret, mode 0600) and FILE.pub (its public key line, also printed)', false)
    .option('--force', 'replace the file(s) if they exist', false)
    .addHelpText('after', `
Every relay and controller of one mesh reads the same mesh key file (--mesh-key-file).
An identity is one node's own key pair (Ed25519 to sign, X25519 to agree keys); the public key
line (rmpub1:…) is what others list to admit it (docs/security.md).
Examples:
  relaymesh keygen mesh.key
  relaymesh keygen --identity relay-a.id      # writes relay-a.id and relay-a.id.pub`)
    .action(async (file: string, opts: { identity: boolean, force: boolean }) => {
      if (opts.identity) {
        const pub = await writeIdentityFiles(file, opts.force)
        process.stderr.write(`wrote identity to ${file} and its public key to ${file}.pub\n`)
        process.stdout.write(pub + '\n')
        return
      }
      await writeMeshKeyFile(file, opts.force)
      process.stderr.write(`wrote mesh key to ${file}\n`)
    })
}
