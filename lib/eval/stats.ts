/**
 * Statistics over a handful of per-seed results (typically 3-10 values of one metric).
 *
 * - `std` is the sample standard deviation (divisor n-1), 0 for a single value.
 * - `bootstrapCI` is the percentile bootstrap of the mean: draw `resamples` samples of size n with
 *   replacement (seeded Rng, so the same input and seed always give the same interval), take each
 *   sample's mean, and return the (1-level)/2 and (1+level)/2 quantiles of those means (linear
 *   interpolation between order statistics, "type 7"). With few seeds the interval is narrow-biased
 *   (it cannot be wider than the data's range); read it as a descriptive spread, not a guarantee.
 * - `pairedDifference(a, b)` summarises a[i] - b[i] over matched seeds (e.g. prompt tuning minus full
 *   fine-tuning on the same seed), which removes the between-seed variance both methods share.
 */
import { Rng } from "../backend/random";

/** mean, sample std and bootstrap CI of the mean of n values. */
export interface Summary {
  n: number;
  mean: number;
  std: number;
  ciLow: number;
  ciHigh: number;
}

export interface BootstrapOptions {
  /** Confidence level in (0, 1). */
  level?: number;
  /** Number of bootstrap resamples (integer >= 1). */
  resamples?: number;
  /** Rng seed (integer; 0 is a seed like any other). */
  seed?: number;
}

export const BOOTSTRAP_DEFAULTS = Object.freeze({ level: 0.95, resamples: 10000, seed: 0 });

export type ResolvedBootstrapOptions = Readonly<Required<BootstrapOptions>>;

/** Fills defaults and validates; the error names the bad option and value. */
export function resolveBootstrapOptions(options: BootstrapOptions = {}): ResolvedBootstrapOptions {
  const level = options.level ?? BOOTSTRAP_DEFAULTS.level;
  if (typeof level !== "number" || !(level > 0 && level < 1)) {
    throw new Error(`bootstrap options: level must be a number in (0, 1), got ${level}`);
  }
  const resamples = options.resamples ?? BOOTSTRAP_DEFAULTS.resamples;
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new Error(`bootstrap options: resamples must be a positive integer, got ${resamples}`);
  }
  const seed = options.seed ?? BOOTSTRAP_DEFAULTS.seed;
  if (!Number.isInteger(seed)) throw new Error(`bootstrap options: seed must be an integer, got ${seed}`);
  return Object.freeze({ level, resamples, seed });
}

/** Arithmetic mean; throws on an empty or non-finite input. */
export function mean(values: ArrayLike<number>): number {
  checkValues("mean", values);
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s / values.length;
}

/** Sample standard deviation (divisor n-1); 0 for a single value. */
export function std(values: ArrayLike<number>): number {
  checkValues("std", values);
  const n = values.length;
  if (n === 1) return 0;
  const m = mean(values);
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i]! - m) ** 2;
  return Math.sqrt(ss / (n - 1));
}

/**
 * Percentile-bootstrap confidence interval of the mean. Deterministic for a given (values, options).
 * For n = 1 (or all-equal values) the interval collapses to the value.
 */
export function bootstrapCI(values: ArrayLike<number>, options: BootstrapOptions = {}): { low: number; high: number } {
  checkValues("bootstrapCI", values);
  const { level, resamples, seed } = resolveBootstrapOptions(options);
  const n = values.length;
  const means = new Float64Array(resamples);
  const rng = new Rng(seed);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += values[rng.int(n)]!;
    means[r] = s / n;
  }
  means.sort();
  const alpha = (1 - level) / 2;
  let low = quantileSorted(means, alpha);
  let high = quantileSorted(means, 1 - alpha);
  // Resample means are averages of the data, so the exact interval lies within [min, max]; clamp
  // the float rounding of those averages (e.g. all-equal values) back inside.
  const lo = minOf(values);
  const hi = maxOf(values);
  low = Math.min(Math.max(low, lo), hi);
  high = Math.min(Math.max(high, lo), hi);
  return { low, high };
}

/** n, mean, sample std and 95% bootstrap CI (10000 resamples, seeded with `seed`). */
export function summarize(
  values: ArrayLike<number>,
  seed: number = BOOTSTRAP_DEFAULTS.seed,
  options: Omit<BootstrapOptions, "seed"> = {},
): Summary {
  checkValues("summarize", values);
  const ci = bootstrapCI(values, { ...options, seed });
  return { n: values.length, mean: mean(values), std: std(values), ciLow: ci.low, ciHigh: ci.high };
}

/**
 * Summary of the paired differences a[i] - b[i] (a and b matched by index, e.g. by seed): the mean
 * gap, its sample std and a bootstrap CI of the mean gap.
 */
export function pairedDifference(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  seed: number = BOOTSTRAP_DEFAULTS.seed,
  options: Omit<BootstrapOptions, "seed"> = {},
): Summary {
  checkValues("pairedDifference (a)", a);
  checkValues("pairedDifference (b)", b);
  if (a.length !== b.length) {
    throw new Error(
      `pairedDifference: a and b must be matched pairs of the same length, got a.length=${a.length}, b.length=${b.length}`,
    );
  }
  const d = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) d[i] = a[i]! - b[i]!;
  return summarize(d, seed, options);
}

/** Quantile q in [0, 1] of an ascending array, linear interpolation between order statistics. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) throw new Error("quantileSorted: empty input");
  if (!(q >= 0 && q <= 1)) throw new Error(`quantileSorted: q must be in [0, 1], got ${q}`);
  const pos = q * (sorted.length - 1);
  const i = Math.floor(pos);
  const frac = pos - i;
  if (i + 1 >= sorted.length) return sorted[sorted.length - 1]!;
  return sorted[i]! + frac * (sorted[i + 1]! - sorted[i]!);
}

function minOf(values: ArrayLike<number>): number {
  let m = Infinity;
  for (let i = 0; i < values.length; i++) m = Math.min(m, values[i]!);
  return m;
}

function maxOf(values: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < values.length; i++) m = Math.max(m, values[i]!);
  return m;
}

function checkValues(where: string, values: ArrayLike<number>): void {
  if (values == null || typeof values.length !== "number")
    throw new Error(`${where}: expected an array of numbers, got ${String(values)}`);
  if (values.length === 0) throw new Error(`${where}: no values (empty array)`);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new Error(
        `${where}: values[${i}] must be a finite number, got ${typeof v === "string" ? JSON.stringify(v) : String(v)}`,
      );
    }
  }
}
