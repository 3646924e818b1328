/**
 * Sweeps that outgrow one machine: a grid split into N shards, each run by its own process (a Slurm array task,
 * a Kubernetes Indexed Job pod, or a shell loop), each writing its own results file, merged afterwards.
 *
 *   --shard I/N     shard I of N, 0-based (I = SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX), 0 <= I < N
 *   DIR/shards/I-of-N/results.jsonl      what shard I writes (no two shards share a file, so a shared
 *                                        filesystem never sees two writers on one file)
 *   collectShards(DIR)                   every shard file read back into one list, each cell once
 *
 * Assignment: a cell belongs to shard sha256(cellId) mod N. It depends only on the cell's id and N, never on
 * the cell's position in the grid, so adding seeds, tasks or option values to a grid never moves a cell that
 * was already assigned (its record is found again by the same shard), and every cell of a grid lands in
 * exactly one shard. (Changing N does move cells; records stay valid because collecting matches by cell id.)
 *
 * Collecting: records of one cell found in several files (a shard run twice, or run with two different N) are
 * kept once when they agree on the result (the fields `RESULT_FIELDS`: config, backbone, metrics, curve, ...)
 * and refused, naming both files and lines and the fields that differ, when they do not. Timings, timestamps
 * and the environment are allowed to differ: they differ between any two runs.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { appendJsonl, readJsonl } from "../io/jsonl";
import { canonicalJson } from "./cell-id";
import { validateRecord, type RunRecord } from "./record";
import { acquireLock } from "./run-lock";

/** One shard of N: `index` in [0, count). */
export interface ShardSpec {
  readonly index: number;
  readonly count: number;
}

/** Directory (under the run's output directory) that holds one folder per shard. */
export const SHARDS_DIR = "shards";

/** Largest shard count accepted (a guard against typos such as `0/100000000`). */
export const MAX_SHARDS = 100_000;

/**
 * Parses "I/N" (0-based I, 0 <= I < N <= MAX_SHARDS). `where` names the user's words (e.g. "--shard").
 * Refuses "3/2", "0/0", "2/2", "-1/4", "1.5/4", "1/", "a/b" with a message that says what is expected.
 */
export function parseShardSpec(text: unknown, where = "--shard"): ShardSpec {
  const usage = `I/N with 0 <= I < N (0-based shard index I of N shards, e.g. 0/4 ... 3/4)`;
  if (typeof text !== "string")
    throw new Error(`${where} must be ${usage}, got ${JSON.stringify(text) ?? String(text)}`);
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new Error(`${where} must be ${usage}, got ${JSON.stringify(text)}`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1)
    throw new Error(`${where} ${JSON.stringify(text)}: the number of shards N must be at least 1, got ${count}`);
  if (count > MAX_SHARDS)
    throw new Error(`${where} ${JSON.stringify(text)}: at most ${MAX_SHARDS} shards, got ${count}`);
  if (index >= count) {
    throw new Error(
      `${where} ${JSON.stringify(text)}: shard index ${index} is out of range for ${count} shard${count > 1 ? "s" : ""} ` +
        `(indices are 0-based: 0 .. ${count - 1}; a Slurm array for ${count} shards is --array=0-${count - 1})`,
    );
  }
  return Object.freeze({ index, count });
}

/** "I/N", the form parseShardSpec reads. */
export function formatShardSpec(s: ShardSpec): string {
  return `${s.index}/${s.count}`;
}

/** The shard (0 .. count-1) a cell belongs to: sha256(cellId) mod count. */
export function shardOf(cellId: string, count: number): number {
  if (typeof cellId !== "string" || cellId === "")
    throw new Error(`shardOf: cellId must be a non-empty string, got ${JSON.stringify(cellId)}`);
  if (!Number.isSafeInteger(count) || count < 1)
    throw new Error(`shardOf: count must be a positive integer, got ${count}`);
  const digest = createHash("sha256").update(cellId, "utf8").digest();
  // 48 bits: uniform enough for any count up to MAX_SHARDS, and exact in a double.
  return digest.readUIntBE(0, 6) % count;
}

/** The cells of `cells` that shard `shard` runs, in their grid order. */
export function cellsOfShard<C extends { readonly cellId: string }>(cells: readonly C[], shard: ShardSpec): C[] {
  return cells.filter((c) => shardOf(c.cellId, shard.count) === shard.index);
}

/** Folder of one shard: DIR/shards/I-of-N. */
export function shardDir(outDir: string, shard: ShardSpec): string {
  return path.join(outDir, SHARDS_DIR, `${shard.index}-of-${shard.count}`);
}

/** Results file of one shard: DIR/shards/I-of-N/results.jsonl. */
export function shardResultsPath(outDir: string, shard: ShardSpec): string {
  return path.join(shardDir(outDir, shard), "results.jsonl");
}

/** Failure log of one shard (the runner's `<results>.errors.jsonl` next to the results file). */
export function shardErrorsPath(outDir: string, shard: ShardSpec): string {
  return path.join(shardDir(outDir, shard), "results.errors.jsonl");
}

/** Shard folders found under DIR/shards, sorted by N then I; folders not named I-of-N are ignored. */
export function listShardDirs(outDir: string): Array<{ shard: ShardSpec; dir: string }> {
  const root = path.join(outDir, SHARDS_DIR);
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new Error(`cannot list shard folders in ${root}: ${(err as Error).message}`);
  }
  const out: Array<{ shard: ShardSpec; dir: string }> = [];
  for (const name of names) {
    const m = /^(\d+)-of-(\d+)$/.exec(name);
    if (!m) continue;
    const index = Number(m[1]);
    const count = Number(m[2]);
    if (count < 1 || index >= count) continue;
    const dir = path.join(root, name);
    if (!fs.statSync(dir).isDirectory()) continue;
    out.push({ shard: { index, count }, dir });
  }
  return out.sort((a, b) => a.shard.count - b.shard.count || a.shard.index - b.shard.index);
}

/**
 * The parts of a record that must agree when one cell is recorded twice. Everything else (wallSeconds,
 * msPerStep, tokensPerSecond, peakTensorBytes, backend, versions, startedAt, finishedAt, reusedFrom) may differ.
 */
export const RESULT_FIELDS = Object.freeze([
  "cellId",
  "task",
  "method",
  "seed",
  "config",
  "backbone",
  "prompt",
  "steps",
  "metrics",
  "devMetrics",
  "curve",
  "trainableParams",
  "taskBytes",
] as const);

/** Where a record was read from. */
export interface RecordSource {
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
}

/** A cell of the grid that no shard recorded, with the last failure logged for it (if any). */
export interface MissingCell {
  readonly cellId: string;
  /** Error message of the cell's last logged failure, with where it was logged; null if none was logged. */
  readonly lastError: { readonly message: string; readonly file: string; readonly line: number } | null;
}

export interface ShardCollection {
  /** One record per cell, in the order of `cells` when given (then cells outside the grid, by first source). */
  readonly records: RunRecord[];
  /** Where each kept record came from, by cell id. */
  readonly sources: ReadonlyMap<string, RecordSource>;
  /** Shard results files read (existing ones only), in the order read. */
  readonly files: readonly string[];
  /** Records dropped because an identical result of the same cell was already kept. */
  readonly duplicates: number;
  /** Cells of `cells` with no record (empty when `cells` was not given). */
  readonly missing: readonly MissingCell[];
  /** Cell ids recorded in the shards but not in `cells` (empty when `cells` was not given). */
  readonly unexpected: readonly string[];
}

/** Two records of one cell disagree; the message names both sources and the differing fields. */
export class ShardConflictError extends Error {
  constructor(
    readonly cellId: string,
    readonly first: RecordSource,
    readonly second: RecordSource,
    readonly fields: readonly string[],
  ) {
    super(
      `cell ${cellId} is recorded twice with different results: ${first.file}:${first.line} and ${second.file}:${second.line} ` +
        `differ in ${fields.join(", ")}. Delete the record that is wrong (or the whole shard file) and collect again.`,
    );
    this.name = "ShardConflictError";
  }
}

export interface CollectShardsOptions {
  /** The grid's cells: orders the records and lists the missing ones. */
  readonly cells?: readonly { readonly cellId: string }[];
  /** Receives warnings (torn final lines). Default: console.warn. */
  readonly onWarning?: (message: string) => void;
}

/** Fields (of RESULT_FIELDS) in which two records differ. */
export function differingResultFields(a: RunRecord, b: RunRecord): string[] {
  const ra = a as unknown as Record<string, unknown>;
  const rb = b as unknown as Record<string, unknown>;
  const out: string[] = RESULT_FIELDS.filter(
    (f) => canonicalJson(ra[f] ?? null, f) !== canonicalJson(rb[f] ?? null, f),
  );
  // stage 1 of two-stage tuning: its result agrees, its timing may not.
  const s1 = (r: RunRecord): unknown =>
    r.stage1 ? { task: r.stage1.task, steps: r.stage1.steps, devAccuracy: r.stage1.devAccuracy } : null;
  if (canonicalJson(s1(a)) !== canonicalJson(s1(b))) out.push("stage1");
  return out;
}

/**
 * Reads every DIR/shards/I-of-N/results.jsonl into one list: each cell once, conflicting duplicates refused
 * (ShardConflictError), every line validated as a run record (an error names file:line). With `cells`, the
 * records follow the grid order and `missing` lists the cells nobody recorded (with their last logged error).
 * Reads only; writes nothing.
 */
export function collectShards(outDir: string, options: CollectShardsOptions = {}): ShardCollection {
  const onWarning = options.onWarning ?? ((m: string) => console.warn(m));
  const shardDirs = listShardDirs(outDir);
  const kept = new Map<string, { record: RunRecord; source: RecordSource }>();
  const files: string[] = [];
  let duplicates = 0;
  for (const { dir } of shardDirs) {
    const file = path.join(dir, "results.jsonl");
    if (!fs.existsSync(file)) continue;
    files.push(file);
    for (const { line, record } of readJsonl<unknown>(file, { onBadLine: "throw", onWarning })) {
      const r = validateRecord(record, `${file}:${line}`);
      const source = { file, line };
      const prev = kept.get(r.cellId);
      if (!prev) {
        kept.set(r.cellId, { record: r, source });
        continue;
      }
      const diff = differingResultFields(prev.record, r);
      if (diff.length > 0) throw new ShardConflictError(r.cellId, prev.source, source, diff);
      duplicates++;
    }
  }

  const records: RunRecord[] = [];
  const sources = new Map<string, RecordSource>();
  const missing: MissingCell[] = [];
  const unexpected: string[] = [];
  const take = (id: string): void => {
    const k = kept.get(id)!;
    records.push(k.record);
    sources.set(id, k.source);
  };
  if (options.cells) {
    const wanted = new Set<string>();
    const missingIds: string[] = [];
    for (const c of options.cells) {
      if (wanted.has(c.cellId)) continue;
      wanted.add(c.cellId);
      if (kept.has(c.cellId)) take(c.cellId);
      else missingIds.push(c.cellId);
    }
    for (const id of kept.keys()) {
      if (!wanted.has(id)) {
        unexpected.push(id);
        take(id);
      }
    }
    const errors = lastErrors(
      shardDirs.map((d) => d.dir),
      new Set(missingIds),
      onWarning,
    );
    for (const id of missingIds) missing.push({ cellId: id, lastError: errors.get(id) ?? null });
  } else {
    for (const id of kept.keys()) take(id);
  }
  return { records, sources, files, duplicates, missing, unexpected };
}

/** Last logged failure of each wanted cell across the shards' error logs (files read in shard order). */
function lastErrors(
  dirs: readonly string[],
  wanted: ReadonlySet<string>,
  onWarning: (m: string) => void,
): Map<string, { message: string; file: string; line: number }> {
  const out = new Map<string, { message: string; file: string; line: number }>();
  if (wanted.size === 0) return out;
  for (const dir of dirs) {
    const file = path.join(dir, "results.errors.jsonl");
    for (const { line, record } of readJsonl<unknown>(file, { onBadLine: "skip", allowMissing: true, onWarning })) {
      const r = record as { cellId?: unknown; error?: unknown } | null;
      if (r && typeof r.cellId === "string" && wanted.has(r.cellId)) {
        out.set(r.cellId, { message: typeof r.error === "string" ? r.error : JSON.stringify(r.error), file, line });
      }
    }
  }
  return out;
}

/** One line per missing cell (at most `max`, then a count), for the collect command's report. */
export function describeMissing(missing: readonly MissingCell[], max = 20): string {
  if (missing.length === 0) return "no cells missing";
  const lines = missing
    .slice(0, max)
    .map(
      (m) =>
        `  ${m.cellId}: ${m.lastError ? `failed: ${m.lastError.message} (${m.lastError.file}:${m.lastError.line})` : "no record and no logged failure (not run yet?)"}`,
    );
  if (missing.length > max) lines.push(`  ... and ${missing.length - max} more`);
  return `${missing.length} cell${missing.length > 1 ? "s" : ""} missing:\n${lines.join("\n")}`;
}

export interface AppendCollectedResult {
  /** Records appended to the results file. */
  readonly appended: number;
  /** Records already in the results file with the same result (left as they are). */
  readonly alreadyPresent: number;
}

/**
 * Appends the collected records to `resultsPath` (normally DIR/results.jsonl), append-only: records already in
 * that file are never rewritten; a cell already there with the same result is skipped, one with a different
 * result is refused (ShardConflictError naming both sources) before anything is written. Holds the results
 * file's lock while it works, like a grid run does.
 */
export function appendCollected(
  resultsPath: string,
  collection: ShardCollection,
  onWarning: (m: string) => void = (m) => console.warn(m),
): AppendCollectedResult {
  fs.mkdirSync(path.dirname(path.resolve(resultsPath)), { recursive: true });
  const release = acquireLock(`${resultsPath}.lock`, `collect ${collection.records.length} shard records`, onWarning);
  try {
    const existing = new Map<string, { record: RunRecord; source: RecordSource }>();
    for (const { line, record } of readJsonl<unknown>(resultsPath, {
      onBadLine: "throw",
      allowMissing: true,
      onWarning,
    })) {
      const r = validateRecord(record, `${resultsPath}:${line}`);
      if (!existing.has(r.cellId)) existing.set(r.cellId, { record: r, source: { file: resultsPath, line } });
    }
    const toAppend: RunRecord[] = [];
    for (const r of collection.records) {
      const prev = existing.get(r.cellId);
      if (!prev) {
        toAppend.push(r);
        continue;
      }
      const diff = differingResultFields(prev.record, r);
      const source = collection.sources.get(r.cellId) ?? { file: "(collected)", line: 0 };
      if (diff.length > 0) throw new ShardConflictError(r.cellId, prev.source, source, diff);
    }
    for (const r of toAppend) appendJsonl(resultsPath, r, { onWarning });
    return { appended: toAppend.length, alreadyPresent: collection.records.length - toAppend.length };
  } finally {
    release();
  }
}
