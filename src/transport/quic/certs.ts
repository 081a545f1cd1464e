import { createHash, randomBytes, webcrypto } from 'node:crypto'
import * as x509 from '@peculiar/x509'

/**
 * The DNS name every relaymesh QUIC certificate carries as its subject alternative name. Clients
 * never check it against a CA (there is none: see below), but BoringSSL wants a well-formed DNS
 * SAN, and an IP-literal server name breaks its name check.
 */
export const DEFAULT_CERT_DNS_NAME = 'relaymesh.local'

/** Lifetime of a generated certificate. Certificates are made per process, so a day is plenty. */
export const DEFAULT_CERT_VALIDITY_MS = 24 * 60 * 60 * 1000

/** Back-dates notBefore so a peer whose clock is slightly behind still accepts the certificate. */
const CLOCK_SKEW_MS = 60 * 60 * 1000

export interface TlsIdentity {
  /** PKCS#8 private key, PEM. */
  keyPem: string
  /** Self-signed X.509 certificate, PEM. */
  certPem: string
  /** The certificate in DER form, as QUIC hands peer certificates over. */
  certDer: Buffer
  /** SHA-256 of certDer; auth hooks bind their proofs to it (AuthContext.fingerprint). */
  fingerprint: Buffer
}

export interface TlsIdentityOptions {
  dnsName?: string
  validityMs?: number
  /** The current time, injectable for tests. */
  now?: number
}

/** The ECDSA P-256 / SHA-256 pair: accepted by BoringSSL under its default sigalgs. */
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const

/**
 * Generates an ECDSA P-256 key and a self-signed certificate for it, in-process.
 *
 * Nobody manages these by hand: a daemon makes a fresh one at start. The certificate is not what
 * authenticates a peer; the channel type's auth hook is (the mesh key, for the control channel).
 * The control channel's hook binds its HMAC proofs to the fingerprint of the certificate the TLS session used, so a man in the middle presenting its
 * own certificate cannot relay the proofs.
 */
export async function generateTlsIdentity (opts: TlsIdentityOptions = {}): Promise<TlsIdentity> {
  const dnsName = opts.dnsName ?? DEFAULT_CERT_DNS_NAME
  const now = opts.now ?? Date.now()
  const crypto = webcrypto
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair
  // A positive serial: the top bit of the first byte is cleared so DER does not read it as negative.
  const serial = randomBytes(16)
  serial[0] = serial[0] & 0x7f
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: `CN=${dnsName}`,
    notBefore: new Date(now - CLOCK_SKEW_MS),
    notAfter: new Date(now + (opts.validityMs ?? DEFAULT_CERT_VALIDITY_MS)),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: dnsName }])
    ]
  }, crypto)
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey))
  const certDer = Buffer.from(cert.rawData)
  return {
    keyPem: toPem('PRIVATE KEY', pkcs8),
    certPem: cert.toString('pem') + '\n',
    certDer,
    fingerprint: certFingerprint(certDer)
  }
}

/** SHA-256 of a DER certificate. */
export function certFingerprint (der: Uint8Array): Buffer {
  return createHash('sha256').update(der).digest()
}

function toPem (label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? []
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}
