/**
 * Stable identity of an experiment cell: canonical JSON (object keys sorted recursively, arrays kept
 * in order, no whitespace) hashed with SHA-256, first 16 hex chars (64 bits: collisions are not a
 * concern for grids of thousands of cells). The same configuration always gets the same id,
 * whatever the key order it was written in, so a results file can be matched against a grid.
 */
import { createHash } from "node:crypto";

/** Length of a cell id in hex characters. */
export const CELL_ID_HEX_CHARS = 16;

/**
 * JSON text with object keys sorted at every depth. Throws (naming the path) on values JSON cannot
 * hold faithfully: undefined, functions, symbols, bigint, NaN/Infinity, cycles, and non-plain
 * objects (Map, Set, Date, class instances), whose JSON form would silently lose information.
 */
export function canonicalJson(value: unknown, where = "value"): string {
  return encode(value, where, new Set());
}

/** sha256(canonicalJson(config)) as 16 lowercase hex chars. */
export function cellIdOf(config: unknown): string {
  return createHash("sha256")
    .update(canonicalJson(config, "cell config"), "utf8")
    .digest("hex")
    .slice(0, CELL_ID_HEX_CHARS);
}

/** True if `s` looks like a cell id (16 lowercase hex chars). */
export function isCellId(s: unknown): s is string {
  return typeof s === "string" && /^[0-9a-f]{16}$/.test(s);
}

function encode(v: unknown, path: string, seen: Set<object>): string {
  switch (typeof v) {
    case "string":
    case "boolean":
      return JSON.stringify(v);
    case "number":
      if (!Number.isFinite(v)) throw new Error(`canonicalJson: ${path} is ${v}; JSON has no NaN/Infinity`);
      return JSON.stringify(v);
    case "object":
      break;
    default:
      throw new Error(`canonicalJson: ${path} is ${typeof v}, which has no JSON form`);
  }
  if (v === null) return "null";
  if (seen.has(v)) throw new Error(`canonicalJson: ${path} is a circular reference`);
  seen.add(v);
  try {
    if (Array.isArray(v)) return `[${v.map((x, i) => encode(x, `${path}[${i}]`, seen)).join(",")}]`;
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      const kind = (v as object).constructor?.name ?? "object";
      throw new Error(
        `canonicalJson: ${path} is a ${kind}; only plain objects, arrays, strings, numbers, booleans and null are allowed`,
      );
    }
    const keys = Object.keys(v).sort();
    const parts = keys.map(
      (k) => `${JSON.stringify(k)}:${encode((v as Record<string, unknown>)[k], childPath(path, k), seen)}`,
    );
    return `{${parts.join(",")}}`;
  } finally {
    seen.delete(v);
  }
}

function childPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}
