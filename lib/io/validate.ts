/**
 * One way to check a value that came from outside the program (a CLI flag, a grid file, a JSON record, a
 * library call): every check names the place (`where`, in the user's words, e.g. "grid.json cell 3: option lr"
 * or "--steps"), says what was expected and shows what it got. Messages have one shape:
 *
 *   `${where} must be ${expected}, got ${describe(value)}`
 *
 * Checks return the value narrowed to its type so callers read `const steps = positiveInt(v, "--steps")`.
 * Problems can also be collected instead of thrown (`problemsOf`), for validators that report every problem
 * of a record at once.
 */

/** Any value as it should appear in a message: JSON where possible, else its type. */
export function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "number") return Number.isNaN(value) ? "NaN" : String(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return "a function";
  try {
    const s = JSON.stringify(value);
    if (s === undefined) return typeof value;
    return s.length > 120 ? `${s.slice(0, 117)}...` : s;
  } catch {
    return typeof value;
  }
}

/** The error every check throws. `where` names the field in the user's words. */
export class ValidationError extends Error {
  constructor(
    readonly where: string,
    readonly expected: string,
    readonly got: unknown,
  ) {
    super(`${where} must be ${expected}, got ${describe(got)}`);
    this.name = "ValidationError";
  }
}

export function fail(where: string, expected: string, got: unknown): never {
  throw new ValidationError(where, expected, got);
}

/** A JSON-style object: not null, not an array, not a typed array or DataView. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

export function isFiniteNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

export function isInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value);
}

export interface Range {
  /** Inclusive lower bound. */
  readonly min?: number;
  /** Inclusive upper bound. */
  readonly max?: number;
  /** Exclusive lower bound. */
  readonly above?: number;
  /** Exclusive upper bound. */
  readonly below?: number;
}

function rangeText(r: Range): string {
  const lo = r.above !== undefined ? `> ${r.above}` : r.min !== undefined ? `>= ${r.min}` : "";
  const hi = r.below !== undefined ? `< ${r.below}` : r.max !== undefined ? `<= ${r.max}` : "";
  if (lo && hi) {
    const open = r.above !== undefined ? "(" : "[";
    const close = r.below !== undefined ? ")" : "]";
    return `in ${open}${r.above ?? r.min}, ${r.below ?? r.max}${close}`;
  }
  return lo || hi;
}

function inRange(v: number, r: Range): boolean {
  if (r.min !== undefined && v < r.min) return false;
  if (r.max !== undefined && v > r.max) return false;
  if (r.above !== undefined && v <= r.above) return false;
  if (r.below !== undefined && v >= r.below) return false;
  return true;
}

/** A finite number, optionally within a range. */
export function finiteNumber(value: unknown, where: string, range: Range = {}): number {
  const r = rangeText(range);
  if (!isFiniteNumber(value) || !inRange(value, range)) fail(where, r ? `a number ${r}` : "a finite number", value);
  return value;
}

/** An integer (safe), optionally within a range. */
export function integer(value: unknown, where: string, range: Range = {}): number {
  const r = rangeText(range);
  if (!isInteger(value) || !inRange(value, range)) fail(where, r ? `an integer ${r}` : "an integer", value);
  return value;
}

export function positiveInt(value: unknown, where: string): number {
  if (!isInteger(value) || value < 1) fail(where, "a positive integer", value);
  return value;
}

export function nonNegativeInt(value: unknown, where: string): number {
  if (!isInteger(value) || value < 0) fail(where, "a non-negative integer", value);
  return value;
}

export function positiveNumber(value: unknown, where: string): number {
  if (!isFiniteNumber(value) || value <= 0) fail(where, "a number > 0", value);
  return value;
}

export function nonNegativeNumber(value: unknown, where: string): number {
  if (!isFiniteNumber(value) || value < 0) fail(where, "a number >= 0", value);
  return value;
}

/** A probability-like fraction in [0, 1] (or a narrower range). */
export function fraction(value: unknown, where: string, range: Range = { min: 0, max: 1 }): number {
  return finiteNumber(value, where, range);
}

export function boolean(value: unknown, where: string): boolean {
  if (typeof value !== "boolean") fail(where, "true or false", value);
  return value;
}

export function string(value: unknown, where: string, opts: { nonEmpty?: boolean } = {}): string {
  if (typeof value !== "string") fail(where, "a string", value);
  if (opts.nonEmpty && value.trim() === "") fail(where, "a non-empty string", value);
  return value;
}

/** One of a fixed set of choices; the message lists them. */
export function oneOf<T extends string>(value: unknown, where: string, choices: readonly T[]): T {
  if (typeof value !== "string" || !(choices as readonly string[]).includes(value)) {
    fail(where, `one of ${choices.join(", ")}`, value);
  }
  return value as T;
}

export function object(value: unknown, where: string): Record<string, unknown> {
  if (!isPlainObject(value)) fail(where, "a JSON object", value);
  return value;
}

export function array(value: unknown, where: string, opts: { nonEmpty?: boolean } = {}): unknown[] {
  if (!Array.isArray(value)) fail(where, opts.nonEmpty ? "a non-empty array" : "an array", value);
  if (opts.nonEmpty && value.length === 0) fail(where, "a non-empty array", value);
  return value;
}

/** `null` passes through; anything else goes to `check` (whose expectation gains "null or"). */
export function nullable<T>(value: unknown, where: string, check: (v: unknown, w: string) => T): T | null {
  if (value === null) return null;
  try {
    return check(value, where);
  } catch (e) {
    if (e instanceof ValidationError) fail(where, `null or ${e.expected}`, value);
    throw e;
  }
}

/** Refuses keys not in `known`, naming the first unknown one and listing the known ones. */
export function knownKeys(obj: Record<string, unknown>, known: readonly string[], where: string): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) throw new Error(`${where}: unknown option '${k}' (known: ${known.join(", ")})`);
  }
}

/**
 * Runs checks and collects their messages instead of stopping at the first one (for record validators).
 * `problemsOf(p => { p.check(() => positiveInt(r.steps, "steps")); ... })` returns every failure message.
 */
export function problemsOf(
  body: (p: { check(fn: () => unknown): void; add(message: string): void }) => void,
): string[] {
  const out: string[] = [];
  body({
    check(fn) {
      try {
        fn();
      } catch (e) {
        if (e instanceof ValidationError) out.push(e.message);
        else throw e;
      }
    },
    add(message) {
      out.push(message);
    },
  });
  return out;
}
