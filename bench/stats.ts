/**
 * The arithmetic of the benchmark: summaries of repeated runs (median, min, max), ratios of
 * medians, and the check of a target. Pure functions, no I/O.
 */

/** The summary of one figure over the repetitions of a run. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** How many values were summarised. */
  n: number;
}

/**
 * The median of `values`: the middle value, or the mean of the two middle values when the
 * count is even. Throws a RangeError for an empty list or a value that is not finite.
 */
export function median(values: readonly number[]): number {
  assertFinite(values);
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Median, min and max of `values`. Throws like `median`. */
export function summarize(values: readonly number[]): Summary {
  assertFinite(values);
  return {
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    n: values.length,
  };
}

/**
 * `subject / reference` of the medians, or `undefined` when either is missing or the
 * reference median is zero (a ratio that would be infinite or meaningless).
 */
export function ratioOfMedians(
  subject: Summary | undefined,
  reference: Summary | undefined,
): number | undefined {
  if (subject === undefined || reference === undefined || reference.median === 0) {
    return undefined;
  }
  return subject.median / reference.median;
}

/**
 * How a measured value is compared with its goal.
 * - `ratio-at-least`: subject / reference >= goal (throughput: "at least 3x Nodemailer").
 * - `ratio-at-most`: subject / reference <= goal (CPU: "at most half of Nodemailer's").
 * - `difference-at-most`: subject - reference <= goal (memory: "at most 32 MB above").
 * - `below`: subject < goal, no reference (memory: "peak RSS under 100 MB").
 */
export type TargetKind = 'ratio-at-least' | 'ratio-at-most' | 'difference-at-most' | 'below';

export interface TargetCheck {
  /** `undefined` when a figure is missing (the client did not run or failed). */
  met: boolean | undefined;
  /** The ratio or difference that was compared with the goal. */
  value: number | undefined;
  /**
   * How far from the goal, in the goal's own terms: for ratios, the factor still missing
   * (goal / value for at-least, value / goal for at-most; 1 or less when met); for
   * differences and `below`, the excess over the goal (0 or less when met; `below` is missed
   * at exactly 0).
   */
  gap: number | undefined;
}

/**
 * Compares `subject` with `reference` (medians) against `goal`; a `below` target compares
 * `subject`'s median with `goal` alone (its gap is the excess, like a difference's).
 */
export function checkTarget(
  kind: TargetKind,
  goal: number,
  subject: Summary | undefined,
  reference: Summary | undefined,
): TargetCheck {
  if (kind === 'below') {
    if (subject === undefined) return { met: undefined, value: undefined, gap: undefined };
    return { met: subject.median < goal, value: subject.median, gap: subject.median - goal };
  }
  if (subject === undefined || reference === undefined) {
    return { met: undefined, value: undefined, gap: undefined };
  }
  if (kind === 'difference-at-most') {
    const value = subject.median - reference.median;
    return { met: value <= goal, value, gap: value - goal };
  }
  const value = ratioOfMedians(subject, reference);
  if (value === undefined) return { met: undefined, value: undefined, gap: undefined };
  if (kind === 'ratio-at-least') {
    return { met: value >= goal, value, gap: value === 0 ? Infinity : goal / value };
  }
  return { met: value <= goal, value, gap: value / goal };
}

function assertFinite(values: readonly number[]): void {
  if (values.length === 0) throw new RangeError('Cannot summarise an empty list of values.');
  for (const value of values) {
    if (!Number.isFinite(value)) throw new RangeError(`Not a finite number: ${value}.`);
  }
}
