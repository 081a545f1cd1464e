/**
 * The error catalogue. Every error relaymesh raises on purpose carries a stable code; docs/errors.md
 * explains each one. Messages are one line, name the bad value, and say how to fix it.
 */
export const ErrorCode = {
  /** A flag, config key or file value is invalid. */
  CONFIG: 'RM_ERR_CONFIG',
  /** A static mesh file is invalid. */
  STATIC_MESH: 'RM_ERR_STATIC_MESH',
  /** The mesh key file is missing, unreadable or malformed. */
  MESH_KEY: 'RM_ERR_MESH_KEY',
  /** An identity file, public key or allow-list of relay keys is missing, unreadable or malformed. */
  IDENTITY: 'RM_ERR_IDENTITY',
  /**
   * A QUIC channel was refused: the server serves another channel type (ALPN), or one end failed
   * the channel's authentication hook. The mesh-key hook of the control channel uses MESH_KEY.
   */
  AUTH: 'RM_ERR_AUTH',
  /** A socket could not be bound or used. */
  SOCKET: 'RM_ERR_SOCKET',
  /** An object was used after close(). */
  CLOSED: 'RM_ERR_CLOSED',
  /** Two relay ids hash to the same relay number. */
  RELAY_ID: 'RM_ERR_RELAY_ID',
  /** An option or feature was asked for that this version does not provide yet. */
  UNSUPPORTED: 'RM_ERR_UNSUPPORTED'
} as const
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode]

export class RelaymeshError extends Error {
  readonly code: ErrorCode
  /** True when trying the same operation again later may succeed. */
  readonly retryable: boolean

  constructor (code: ErrorCode, message: string, options: { cause?: unknown, retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'RelaymeshError'
    this.code = code
    this.retryable = options.retryable ?? false
  }
}

/** A user-facing configuration mistake: shown as one line, never with a stack trace. */
export class ConfigError extends RelaymeshError {
  constructor (message: string, code: ErrorCode = ErrorCode.CONFIG) {
    super(code, message)
    this.name = 'ConfigError'
  }
}

export class InvalidStateError extends RelaymeshError {
  constructor (what: string) {
    super(ErrorCode.CLOSED, `${what} is closed`)
    this.name = 'InvalidStateError'
  }
}

/** Refuses an option this version does not provide, rather than ignoring it. */
export class UnsupportedError extends RelaymeshError {
  constructor (message: string) {
    super(ErrorCode.UNSUPPORTED, message)
    this.name = 'UnsupportedError'
  }
}

/** Wraps an I/O failure with the operation that failed. */
export function ioError (operation: string, cause: unknown, retryable = false): RelaymeshError {
  const msg = cause instanceof Error ? cause.message : String(cause)
  return new RelaymeshError(ErrorCode.SOCKET, `${operation}: ${msg}`, { cause, retryable })
}
