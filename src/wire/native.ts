import { createRequire } from 'node:module'

/**
 * The native addon (native/aead.c): the payload AEAD over Node's own OpenSSL, and the link tag's
 * SipHash. `npm run build` builds it when a C toolchain is there (scripts/build-native.mjs); each
 * user keeps a JavaScript fallback that gives the same bytes. RELAYMESH_NATIVE=0 takes the
 * fallbacks anyway (benches' baselines); RELAYMESH_REQUIRE_NATIVE=1 makes a missing addon an
 * error (CI).
 */
export interface NativeAddon {
  newKey: (key: Buffer) => object
  seal: (key: object, buf: Buffer, plainLength: number, seqOffset: number, aadLength: number, payloadOffset: number) => void
  open: (key: object, buf: Buffer, sealedLength: number, seqOffset: number, aadLength: number, payloadOffset: number) => boolean
  /** SipHash-2-4-128 of buf[0, end): written at buf[end, end + 16), or (`check`) compared with it. */
  linkTag: (key: Int32Array, buf: Uint8Array, end: number, check: boolean) => boolean
}

/** dist/src/wire/native.js → the package root's build/. */
const ADDON = '../../../build/Release/relaymesh_aead.node'

function load (): { addon: NativeAddon | undefined, unavailable: string | undefined } {
  if (process.env.RELAYMESH_NATIVE === '0') return { addon: undefined, unavailable: 'RELAYMESH_NATIVE=0' }
  try {
    return { addon: createRequire(import.meta.url)(ADDON) as NativeAddon, unavailable: undefined }
  } catch (err) {
    const why = (err as Error).message.split('\n')[0]
    if (process.env.RELAYMESH_REQUIRE_NATIVE === '1') throw new Error(`RELAYMESH_REQUIRE_NATIVE=1, but the native addon does not load (${why}); run npm run build with gcc, g++, make and python3 installed`)
    return { addon: undefined, unavailable: why }
  }
}

const loaded = load()

/** The addon, or undefined (then `nativeUnavailable` says why). */
export const native: NativeAddon | undefined = loaded.addon
export const nativeUnavailable: string | undefined = loaded.unavailable
