/**
 * How figures read in tables and DOT labels. Unknown (null) shows as '-', an unusable cost as '∞';
 * one decimal is as much as RTT estimators and a human eye can use.
 */

export function fmtMs (x: number | null): string {
  return x === null ? '-' : x.toFixed(1)
}

/** A loss fraction as a percentage. */
export function fmtLoss (x: number | null): string {
  return x === null ? '-' : `${(x * 100).toFixed(1)}%`
}

export function fmtCost (x: number | null): string {
  return x === null ? '∞' : x.toFixed(1)
}

export function fmtPath (path: string[]): string {
  return path.join(' → ')
}
