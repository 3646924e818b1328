/**
 * Pure number/duration formatting shared by tables, CSV summaries, progress lines and figures (lowest layer, so
 * experiment summaries and viz can both use it).
 * No I/O, no notebook dependencies: unit-tested in test/io/format.test.ts.
 */

/** Largest |x| printed in fixed notation by formatNumber; larger values use exponent form. */
const FIXED_MAX = 1e6;
/** Smallest non-zero |x| printed in fixed notation by formatNumber; smaller values use exponent form. */
const FIXED_MIN = 1e-3;

function checkDecimals(decimals: number, where: string): void {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 20) {
    throw new Error(`${where}: decimals must be an integer in 0..20, got ${decimals}`);
  }
}

/**
 * Formats a number for display in a table cell or log line.
 * - integers (|x| < 1e15) print exactly: 42, -7, 20000;
 * - other finite values print with `decimals` fixed decimals (0.1235, 2.3000), switching to exponent
 *   form with `decimals` significant digits after the point when |x| >= 1e6 or 0 < |x| < 1e-3
 *   (1.2346e+7, 3.2000e-5);
 * - NaN, Infinity and -Infinity print as "NaN", "inf", "-inf".
 */
export function formatNumber(x: number, decimals = 4): string {
  checkDecimals(decimals, "formatNumber");
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return Object.is(x, -0) ? "0" : String(x);
  const a = Math.abs(x);
  if (a >= FIXED_MAX || a < FIXED_MIN) return x.toExponential(decimals);
  return x.toFixed(decimals);
}

/**
 * Compact magnitude with an SI suffix, for rates and counts in progress lines:
 * 950 -> "950", 12345 -> "12.3k", 4.2e6 -> "4.20M", 0.5 -> "0.500". `digits` significant digits (>= 1).
 */
export function formatSI(x: number, digits = 3): string {
  if (!Number.isInteger(digits) || digits < 1 || digits > 15) {
    throw new Error(`formatSI: digits must be an integer in 1..15, got ${digits}`);
  }
  if (!Number.isFinite(x)) return formatNumber(x);
  const a = Math.abs(x);
  const units: Array<[number, string]> = [
    [1e12, "T"],
    [1e9, "G"],
    [1e6, "M"],
    [1e3, "k"],
  ];
  for (const [scale, suffix] of units) {
    if (a >= scale) return `${(x / scale).toPrecision(digits)}${suffix}`;
  }
  if (Number.isInteger(x)) return String(x);
  return x.toPrecision(digits);
}

/**
 * Formats a duration in seconds as m:ss or h:mm:ss (75 -> "1:15", 3725 -> "1:02:05");
 * negative, NaN or infinite input (unknown) prints as "?".
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, "0");
  if (h > 0) return `${h}:${String(m).padStart(2, "0")}:${ss}`;
  return `${m}:${ss}`;
}

/** Formats any table/log value: numbers via formatNumber, null/undefined as "", objects as JSON. */
export function formatValue(v: unknown, decimals = 4): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return formatNumber(v, decimals);
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return v ? "true" : "false";
  if (v instanceof Date) return v.toISOString();
  try {
    const json = JSON.stringify(v);
    return json === undefined ? String(v) : json;
  } catch {
    return String(v);
  }
}

/** 1536 -> "1.5 KiB", 52428800 -> "50.0 MiB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return String(bytes);
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[u]}`;
}
