/**
 * Preload for `node --import`: logs every ES module the process resolves (module-log-hooks.ts).
 *   RELAYMESH_MODULE_LOG=/tmp/mods.txt node --import ./dist/test/helpers/module-log.js dist/cli/main.js …
 */
import { register } from 'node:module'

register(new URL('./module-log-hooks.js', import.meta.url))
