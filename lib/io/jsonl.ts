/**
 * Append-only JSON Lines results store: one JSON value per line, each line written whole and
 * fsynced, so records already in the file are never damaged by a later write.
 *
 * A record is committed once its trailing "\n" is on disk. If a writer is killed mid-write, the file
 * ends in a torn fragment without "\n". Both sides handle this the same way:
 *  - `readJsonl` skips a torn final line (with a warning); a corrupt line anywhere else is an error
 *    naming the file and line number (or skipped with a warning, if asked);
 *  - `appendJsonl` first repairs the tail: a fragment that does not parse is cut off (it was never
 *    a committed record, and gluing the new record onto it would corrupt both); an unterminated
 *    line that does parse as JSON gets its missing "\n". Either way a warning is reported.
 * An unterminated final line that parses as JSON is a record for both functions.
 *
 * Concurrency: calls within one process are synchronous, so they never interleave. Several
 * processes appending to one file each write whole lines with O_APPEND, which is safe on local
 * filesystems; tail repair waits for the file to stop changing before it cuts anything, but one
 * writer process per file is the supported setup.
 */
import * as fs from "node:fs";

/** A parsed record and the 1-based line it came from. */
export interface JsonlEntry<T> {
  line: number;
  record: T;
}

export interface ReadJsonlOptions {
  /** What to do with an unparseable line that is not the torn final line (default "throw"). */
  onBadLine?: "skip" | "throw";
  /** Receives warnings (torn final line, skipped bad lines). Default: console.warn. */
  onWarning?: (message: string) => void;
  /** Return [] instead of throwing when the file does not exist (default false). */
  allowMissing?: boolean;
}

export interface AppendJsonlOptions {
  /** Receives a warning when a torn tail is repaired. Default: console.warn. */
  onWarning?: (message: string) => void;
}

/** A problem with a JSON Lines file; `line` is 1-based when it is about one line. */
export class JsonlError extends Error {
  readonly file: string;
  readonly line: number | undefined;

  constructor(file: string, line: number | undefined, detail: string) {
    super(line === undefined ? `${file}: ${detail}` : `${file}:${line}: ${detail}`);
    this.name = "JsonlError";
    this.file = file;
    this.line = line;
  }
}

const NEWLINE = 0x0a;
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/**
 * Append `record` as one JSON line (single write of the full line + "\n", then fsync). Creates the
 * file if needed (not its directory). Throws, writing nothing, if the record is not representable
 * in JSON (undefined, NaN/Infinity anywhere, BigInt, cycles).
 */
export function appendJsonl(filePath: string, record: unknown, options: AppendJsonlOptions = {}): void {
  const warn = options.onWarning ?? ((m: string) => console.warn(m));
  const line = Buffer.from(serialiseRecord(filePath, record) + "\n", "utf8");
  let fd: number;
  try {
    fd = fs.openSync(filePath, "a+");
  } catch (err) {
    throw new JsonlError(filePath, undefined, `cannot open for appending: ${(err as Error).message}`);
  }
  try {
    repairTail(fd, filePath, warn);
    let done = 0;
    while (done < line.length) done += fs.writeSync(fd, line, done, line.length - done);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Read every record with its line number. Blank lines are ignored. `T` is not checked: validate
 * records yourself if their shape matters.
 */
export function readJsonl<T = unknown>(filePath: string, options: ReadJsonlOptions = {}): JsonlEntry<T>[] {
  const onBadLine = options.onBadLine ?? "throw";
  if (onBadLine !== "skip" && onBadLine !== "throw") {
    throw new Error(`readJsonl(${filePath}): onBadLine must be "skip" or "throw", got ${JSON.stringify(onBadLine)}`);
  }
  const warn = options.onWarning ?? ((m: string) => console.warn(m));
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(filePath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" && options.allowMissing) return [];
    throw new JsonlError(filePath, undefined, `cannot read: ${(err as Error).message}`);
  }
  const out: JsonlEntry<T>[] = [];
  let start = 0;
  let lineNo = 0;
  while (start < bytes.length) {
    lineNo++;
    const nl = bytes.indexOf(NEWLINE, start);
    const terminated = nl >= 0;
    const end = terminated ? nl : bytes.length;
    const parsed = parseLine(bytes.subarray(start, end));
    const length = end - start;
    start = end + 1;
    if (parsed.kind === "blank") continue;
    if (parsed.kind === "ok") {
      out.push({ line: lineNo, record: parsed.value as T });
    } else if (!terminated) {
      warn(
        `${filePath}:${lineNo}: skipping torn final line (${length} bytes, no trailing newline: ${parsed.preview}), probably an interrupted write`,
      );
    } else if (onBadLine === "throw") {
      throw new JsonlError(filePath, lineNo, `corrupt line (${parsed.error}): ${parsed.preview}`);
    } else {
      warn(`${filePath}:${lineNo}: skipping corrupt line (${parsed.error}): ${parsed.preview}`);
    }
  }
  return out;
}

type LineParse = { kind: "blank" } | { kind: "ok"; value: unknown } | { kind: "bad"; error: string; preview: string };

function parseLine(raw: Uint8Array): LineParse {
  let text: string;
  try {
    text = utf8Strict.decode(raw);
  } catch {
    return { kind: "bad", error: "invalid UTF-8", preview: `${raw.length} bytes` };
  }
  if (text.trim() === "") return { kind: "blank" };
  try {
    return { kind: "ok", value: JSON.parse(text) };
  } catch (err) {
    const preview = text.length > 120 ? `${JSON.stringify(text.slice(0, 120))}...` : JSON.stringify(text);
    return { kind: "bad", error: (err as Error).message, preview };
  }
}

/** JSON text of one record, refusing values JSON would silently alter or cannot hold. */
function serialiseRecord(filePath: string, record: unknown): string {
  const bad = findNonFinite(record, "record", new Set());
  if (bad !== undefined) {
    throw new JsonlError(
      filePath,
      undefined,
      `cannot append: ${bad} (JSON has no NaN/Infinity; store null or a string instead)`,
    );
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(record);
  } catch (err) {
    throw new JsonlError(
      filePath,
      undefined,
      `cannot append: record is not JSON-serialisable: ${(err as Error).message}`,
    );
  }
  if (text === undefined) {
    throw new JsonlError(filePath, undefined, `cannot append: a record of type ${typeof record} has no JSON form`);
  }
  return text;
}

/** Path of the first non-finite number inside `v`, e.g. "record.metrics.loss is NaN". */
function findNonFinite(v: unknown, path: string, seen: Set<object>): string | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? undefined : `${path} is ${v}`;
  if (typeof v !== "object" || v === null || seen.has(v)) return undefined;
  seen.add(v);
  if (Array.isArray(v) || ArrayBuffer.isView(v)) {
    const arr = v as ArrayLike<unknown>;
    for (let i = 0; i < arr.length; i++) {
      const hit = findNonFinite(arr[i], `${path}[${i}]`, seen);
      if (hit !== undefined) return hit;
    }
    return undefined;
  }
  for (const [k, child] of Object.entries(v)) {
    const hit = findNonFinite(
      child,
      /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`,
      seen,
    );
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/** Time to let an in-flight write from another process land before deciding a tail is torn. */
const SETTLE_MS = 25;

/**
 * If the file does not end in "\n", make it: complete an unterminated line that parses, or cut off
 * a torn fragment. Reads only the tail, so appends stay O(line length).
 */
function repairTail(fd: number, filePath: string, warn: (m: string) => void): void {
  let size = fs.fstatSync(fd).size;
  if (size === 0 || lastByte(fd, size) === NEWLINE) return;
  // Possibly another process is mid-write: wait until the size stops changing.
  for (let i = 0; i < 4; i++) {
    sleepSync(SETTLE_MS);
    const now = fs.fstatSync(fd).size;
    if (now === size) break;
    size = now;
  }
  if (lastByte(fd, size) === NEWLINE) return;
  const tailStart = lastNewline(fd, size) + 1;
  const tail = Buffer.alloc(size - tailStart);
  fs.readSync(fd, tail, 0, tail.length, tailStart);
  const lineNo = countNewlines(fd, tailStart) + 1;
  const parsed = parseLine(tail);
  if (parsed.kind === "ok" || parsed.kind === "blank") {
    fs.writeSync(fd, "\n");
    if (parsed.kind === "ok") warn(`${filePath}:${lineNo}: final line had no trailing newline; added one`);
    return;
  }
  fs.ftruncateSync(fd, tailStart);
  warn(
    `${filePath}:${lineNo}: removed torn final line (${tail.length} bytes, ${parsed.preview}) left by an interrupted write`,
  );
}

function lastByte(fd: number, size: number): number {
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, size - 1);
  return b[0]!;
}

/** Offset of the last "\n" before `size`, or -1. */
function lastNewline(fd: number, size: number): number {
  const chunk = Buffer.alloc(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const n = fs.readSync(fd, chunk, 0, end - start, start);
    const i = chunk.subarray(0, n).lastIndexOf(NEWLINE);
    if (i >= 0) return start + i;
    end = start;
  }
  return -1;
}

/** Number of "\n" bytes in [0, end) (only used on the rare repair path, for the line number). */
function countNewlines(fd: number, end: number): number {
  const chunk = Buffer.alloc(64 * 1024);
  let count = 0;
  for (let pos = 0; pos < end;) {
    const n = fs.readSync(fd, chunk, 0, Math.min(chunk.length, end - pos), pos);
    if (n === 0) break;
    for (let i = 0; i < n; i++) if (chunk[i] === NEWLINE) count++;
    pos += n;
  }
  return count;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
