import { ErrorCode, RelaymeshError } from '../errors.js'
import { REASON_NAMES, type Reason } from './reasons.js'

/** A decode failure, named by its drop reason. */
export class WireError extends RelaymeshError {
  readonly reason: Reason
  constructor (reason: Reason, detail: string) {
    super(ErrorCode.WIRE, `${REASON_NAMES[reason]}: ${detail}`)
    this.name = 'WireError'
    this.reason = reason
  }
}
