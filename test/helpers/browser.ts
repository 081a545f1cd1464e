import { accessSync, constants } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

/** Debian's Chromium (apt-get install chromium); playwright-core drives it and downloads nothing. */
export const CHROMIUM_PATH = process.env.RELAYMESH_CHROMIUM ?? '/usr/bin/chromium'

/**
 * Why browser tests cannot run here, or undefined when they can. Under CI
 * (RELAYMESH_REQUIRE_BROWSER=1) a missing Chromium is a failure, never a skip.
 */
export function browserUnavailable (): string | undefined {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK)
    return undefined
  } catch {
    const why = `${CHROMIUM_PATH} is not installed (apt-get install chromium)`
    if (process.env.RELAYMESH_REQUIRE_BROWSER === '1') throw new Error(`${why}, and RELAYMESH_REQUIRE_BROWSER=1`)
    return why
  }
}

/** A headless Chromium that makes no request of its own (no updates, no safe browsing). */
export async function launchBrowser (): Promise<Browser> {
  return await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking']
  })
}
