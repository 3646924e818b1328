/**
 * Resumable grid runner: runs every cell that has no record in results.jsonl yet and appends each
 * record the moment its run finishes.
 *
 * Crash safety comes from the results file itself (lib/io/jsonl.ts): each record is one fsynced
 * line, appended, never rewritten. On start the file is read; a torn final line (a run killed while
 * appending) is ignored and cut off on the next append, so that cell simply runs again. A cell is
 * "done" iff a line with its cellId exists, so killing the runner at any moment and calling runGrid
 * again with the same cells loses nothing and duplicates nothing. A lock file (`<results>.lock`)
 * keeps a second runner from writing the same file at once.
 *
 * Parallelism: `concurrency` cells are in flight at once; the runner itself only awaits the
 * caller's async `runCell`, so real parallelism needs runCell to hand the cell to a worker process
 * (see process-pool.ts). Records are appended here, in the parent, so there is one writer.
 *
 * Failures: `onError: "stop"` (default) lets in-flight cells finish and be recorded, starts no new
 * ones, then rejects with a GridRunError naming the cell. `"record-and-continue"` appends the error
 * to `<results>.errors.jsonl` and carries on; failed cells have no result line, so the next runGrid
 * retries them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { appendJsonl, readJsonl } from "../io/jsonl";
import { canonicalJson, isCellId } from "./cell-id";
import type { Cell } from "./grid";
import { validateRecord, type RunRecord } from "./record";
import { acquireLock } from "./run-lock";

export type OnError = "stop" | "record-and-continue";

export interface RunGridOptions {
  /** results.jsonl to resume from and append to (its directory is created if missing). */
  resultsPath: string;
  /** Runs one cell and returns its record (see record.ts: cellFields(cell) fills the cell's own fields). */
  runCell: (cell: Cell) => Promise<RunRecord>;
  /** Cells in flight at once (integer >= 1, default 1). */
  concurrency?: number;
  onProgress?: (event: GridEvent) => void;
  /** What a failing cell does to the run (default "stop"). */
  onError?: OnError;
  /** Failure log for "record-and-continue" (default: results path with ".errors.jsonl"). */
  errorsPath?: string;
  /** Run at most this many of the pending cells, then return (default: all). */
  limit?: number;
  /** Aborting starts no new cells; in-flight ones finish and are recorded. */
  signal?: AbortSignal;
  /** Warnings (torn tail, stale lock, throwing progress callback). Default: console.warn. */
  onWarning?: (message: string) => void;
}

export const RUN_GRID_DEFAULTS = Object.freeze({ concurrency: 1, onError: "stop" as OnError });

/** Where a cell sits: `index` in the full cell list (0-based), `position` among this call's runs (1-based). */
interface CellEventBase {
  cell: Cell;
  index: number;
  total: number;
  position: number;
  toRun: number;
  /** Seconds since this runGrid call started. */
  elapsedSeconds: number;
  /** Estimated seconds until this call's remaining cells finish; null until one has finished. */
  etaSeconds: number | null;
}

export type GridEvent =
  | { type: "resume"; resultsPath: string; total: number; skipped: number; pending: number; toRun: number }
  | ({ type: "cell-start" } & CellEventBase)
  | ({ type: "cell-finish"; record: RunRecord; cellSeconds: number } & CellEventBase)
  | ({ type: "cell-error"; error: Error; cellSeconds: number } & CellEventBase)
  | { type: "done"; result: RunGridResult };

export interface CellFailure {
  cell: Cell;
  index: number;
  error: Error;
}

export interface RunGridResult {
  /** Cells given. */
  total: number;
  /** Cells that already had a record when this call started. */
  skipped: number;
  /** Records appended by this call, in completion order. */
  records: RunRecord[];
  failed: CellFailure[];
  /** Cells still without a record (failed, or not started because of limit/abort). */
  remaining: number;
  /** Records in the file whose cellId is not among the given cells (e.g. from another grid). */
  foreignRecords: number;
  elapsedSeconds: number;
  /** True if an abort signal cut the run short. */
  aborted: boolean;
}

/** A cell failed under onError "stop". */
export class GridRunError extends Error {
  readonly cell: Cell;
  readonly index: number;
  override readonly cause: Error;

  constructor(cell: Cell, index: number, cause: Error) {
    super(`cell ${index} (${cell.cellId}: ${describeCell(cell)}) failed: ${cause.message}`);
    this.name = "GridRunError";
    this.cell = cell;
    this.index = index;
    this.cause = cause;
  }
}

/** Validates options; the error names the bad option and value. */
export function resolveRunGridOptions(
  options: RunGridOptions,
): Required<Omit<RunGridOptions, "onProgress" | "signal" | "limit">> &
  Pick<RunGridOptions, "onProgress" | "signal"> & { limit: number } {
  if (options === null || typeof options !== "object")
    throw new Error(`runGrid: options must be an object, got ${String(options)}`);
  if (typeof options.resultsPath !== "string" || options.resultsPath === "") {
    throw new Error(`runGrid: resultsPath must be a non-empty string, got ${JSON.stringify(options.resultsPath)}`);
  }
  if (typeof options.runCell !== "function")
    throw new Error(`runGrid: runCell must be a function, got ${typeof options.runCell}`);
  const concurrency = options.concurrency ?? RUN_GRID_DEFAULTS.concurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error(`runGrid: concurrency must be an integer >= 1, got ${concurrency}`);
  const onError = options.onError ?? RUN_GRID_DEFAULTS.onError;
  if (onError !== "stop" && onError !== "record-and-continue") {
    throw new Error(`runGrid: onError must be "stop" or "record-and-continue", got ${JSON.stringify(onError)}`);
  }
  const limit = options.limit ?? Infinity;
  if (limit !== Infinity && (!Number.isInteger(limit) || limit < 0))
    throw new Error(`runGrid: limit must be an integer >= 0, got ${limit}`);
  if (options.onProgress !== undefined && typeof options.onProgress !== "function") {
    throw new Error(`runGrid: onProgress must be a function, got ${typeof options.onProgress}`);
  }
  return {
    resultsPath: options.resultsPath,
    runCell: options.runCell,
    concurrency,
    onError,
    errorsPath: options.errorsPath ?? defaultErrorsPath(options.resultsPath),
    limit,
    onProgress: options.onProgress,
    signal: options.signal,
    onWarning: options.onWarning ?? ((m: string) => console.warn(m)),
  };
}

/** "runs/x/results.jsonl" -> "runs/x/results.errors.jsonl". */
export function defaultErrorsPath(resultsPath: string): string {
  return resultsPath.replace(/\.jsonl$/, "") + ".errors.jsonl";
}

/** cellIds already recorded in a results file (missing file: none). Torn final line ignored. */
export function recordedCellIds(resultsPath: string, onWarning?: (m: string) => void): Map<string, number> {
  const ids = new Map<string, number>();
  for (const { line, record } of readJsonl<unknown>(resultsPath, {
    onBadLine: "throw",
    allowMissing: true,
    onWarning,
  })) {
    const id = (record as { cellId?: unknown } | null)?.cellId;
    if (typeof record !== "object" || record === null || !isCellId(id)) {
      throw new Error(
        `${resultsPath}:${line}: cellId: expected a 16-char hex cell id, got ${JSON.stringify(id)}; is this a results file?`,
      );
    }
    ids.set(id, (ids.get(id) ?? 0) + 1);
  }
  return ids;
}

/**
 * Runs the cells that have no record yet; see the file comment. Longer than most functions here on purpose: the
 * worker loop is a closure sharing the queue cursor, counters and stop state with the result built below;
 * pulled apart, that state would have to be threaded through every helper.
 */
export async function runGrid(cells: readonly Cell[], options: RunGridOptions): Promise<RunGridResult> {
  const opts = resolveRunGridOptions(options);
  const t0 = Date.now();
  const elapsed = (): number => (Date.now() - t0) / 1000;
  const emit = (ev: GridEvent): void => {
    if (!opts.onProgress) return;
    try {
      opts.onProgress(ev);
    } catch (err) {
      opts.onWarning(`runGrid: onProgress threw on a "${ev.type}" event (ignored): ${(err as Error).message}`);
    }
  };
  checkCells(cells);

  fs.mkdirSync(path.dirname(path.resolve(opts.resultsPath)), { recursive: true });
  const release = acquireLock(`${opts.resultsPath}.lock`, `runGrid ${cells.length} cells`, opts.onWarning);
  try {
    const { pending, foreignRecords } = pendingCells(cells, opts.resultsPath, opts.onWarning);
    const skipped = cells.length - pending.length;
    const queue = pending.slice(0, Math.min(pending.length, opts.limit));
    const toRun = queue.length;
    emit({
      type: "resume",
      resultsPath: opts.resultsPath,
      total: cells.length,
      skipped,
      pending: pending.length,
      toRun,
    });

    const records: RunRecord[] = [];
    const failed: CellFailure[] = [];
    let next = 0;
    let completed = 0;
    let stopError: Error | null = null;
    const eta = (): number | null => (completed === 0 ? null : ((toRun - completed) * elapsed()) / completed);

    const worker = async (): Promise<void> => {
      for (;;) {
        if (stopError !== null || opts.signal?.aborted) return;
        const q = next++;
        if (q >= queue.length) return;
        const index = queue[q]!;
        const cell = cells[index]!;
        const base = (): CellEventBase => ({
          cell,
          index,
          total: cells.length,
          position: q + 1,
          toRun,
          elapsedSeconds: elapsed(),
          etaSeconds: eta(),
        });
        emit({ type: "cell-start", ...base() });
        const started = Date.now();
        let record: RunRecord;
        try {
          record = checkReturnedRecord(await opts.runCell(cell), cell, index);
        } catch (err) {
          const error = err instanceof Error ? err : new Error(String(err));
          const cellSeconds = (Date.now() - started) / 1000;
          completed++;
          failed.push({ cell, index, error });
          const stop =
            opts.onError === "stop"
              ? new GridRunError(cell, index, error)
              : logFailure(opts, cell, index, error, cellSeconds);
          stopError ??= stop;
          emit({ type: "cell-error", ...base(), error, cellSeconds });
          continue;
        }
        try {
          appendJsonl(opts.resultsPath, record, { onWarning: opts.onWarning });
        } catch (err) {
          // Cannot store results (disk full, permissions): stop everything, whatever onError says.
          stopError ??= new Error(
            `runGrid: cannot append the record of cell ${index} (${cell.cellId}) to ${opts.resultsPath}: ${(err as Error).message}`,
          );
          return;
        }
        completed++;
        records.push(record);
        emit({ type: "cell-finish", ...base(), record, cellSeconds: (Date.now() - started) / 1000 });
      }
    };
    await Promise.all(Array.from({ length: Math.min(opts.concurrency, Math.max(1, toRun)) }, worker));

    const result: RunGridResult = {
      total: cells.length,
      skipped,
      records,
      failed,
      remaining: pending.length - records.length,
      foreignRecords,
      elapsedSeconds: elapsed(),
      aborted: opts.signal?.aborted === true && next < queue.length,
    };
    if (stopError !== null) throw stopError;
    emit({ type: "done", result });
    return result;
  } finally {
    release();
  }
}

/** Indices of `cells` without a record in `resultsPath`, and how many records belong to other cells. */
function pendingCells(
  cells: readonly Cell[],
  resultsPath: string,
  onWarning: (m: string) => void,
): { pending: number[]; foreignRecords: number } {
  const existing = recordedCellIds(resultsPath, onWarning);
  const wanted = new Set(cells.map((c) => c.cellId));
  let foreignRecords = 0;
  for (const [id, count] of existing) {
    if (!wanted.has(id)) foreignRecords += count;
    else if (count > 1) onWarning(`${resultsPath}: cell ${id} is recorded ${count} times (summaries keep the first)`);
  }
  const pending: number[] = [];
  cells.forEach((c, i) => {
    if (!existing.has(c.cellId)) pending.push(i);
  });
  return { pending, foreignRecords };
}

/** Appends a failed cell to the errors file ("record-and-continue"); an Error that stops the run if it cannot. */
function logFailure(
  opts: { errorsPath: string; onWarning: (m: string) => void },
  cell: Cell,
  index: number,
  error: Error,
  seconds: number,
): Error | null {
  try {
    appendJsonl(
      opts.errorsPath,
      {
        cellId: cell.cellId,
        index,
        config: cell.config,
        error: error.message,
        stack: error.stack ?? null,
        seconds,
        failedAt: new Date().toISOString(),
      },
      { onWarning: opts.onWarning },
    );
    return null;
  } catch (logErr) {
    return new Error(
      `runGrid: cannot log the failure of cell ${index} to ${opts.errorsPath}: ${(logErr as Error).message}`,
    );
  }
}

/** One line describing a grid event, for console logs: "[3/12] done sst2 prompt seed=1 ... ETA 4:10". */
export function describeGridEvent(ev: GridEvent): string {
  switch (ev.type) {
    case "resume":
      return `grid: ${ev.total} cells, ${ev.skipped} already recorded in ${ev.resultsPath}, ${ev.pending} pending, running ${ev.toRun}`;
    case "cell-start":
      return `[${ev.position}/${ev.toRun}] start ${describeCell(ev.cell)} (cell ${ev.index}, ${ev.cell.cellId})`;
    case "cell-finish":
      return `[${ev.position}/${ev.toRun}] done  ${describeCell(ev.cell)} acc=${ev.record.metrics.accuracy.toFixed(4)} in ${duration(ev.cellSeconds)}; elapsed ${duration(ev.elapsedSeconds)}, ETA ${ev.etaSeconds === null ? "?" : duration(ev.etaSeconds)}`;
    case "cell-error":
      return `[${ev.position}/${ev.toRun}] FAILED ${describeCell(ev.cell)} after ${duration(ev.cellSeconds)}: ${ev.error.message}`;
    case "done": {
      const r = ev.result;
      return `grid: ran ${r.records.length}, failed ${r.failed.length}, skipped ${r.skipped}, remaining ${r.remaining} in ${duration(r.elapsedSeconds)}${r.aborted ? " (aborted)" : ""}`;
    }
  }
}

/** "backbone/task/method seed=1 promptLength=5". */
export function describeCell(cell: Cell): string {
  const opts = Object.keys(cell.options)
    .sort()
    .map((k) => {
      const v = cell.options[k];
      return `${k}=${typeof v === "string" ? v : canonicalJson(v)}`;
    });
  return [`${cell.backbone}/${cell.task}/${cell.method}`, `seed=${cell.seed}`, ...opts].join(" ");
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

function checkCells(cells: readonly Cell[]): void {
  if (!Array.isArray(cells)) throw new Error(`runGrid: cells must be an array (from expandGrid), got ${typeof cells}`);
  const seen = new Map<string, number>();
  cells.forEach((c, i) => {
    if (!c || !isCellId(c.cellId))
      throw new Error(
        `runGrid: cells[${i}] has no valid cellId (got ${JSON.stringify(c?.cellId)}); build cells with expandGrid or makeCell`,
      );
    const prev = seen.get(c.cellId);
    if (prev !== undefined) throw new Error(`runGrid: cells[${prev}] and cells[${i}] are the same cell (${c.cellId})`);
    seen.set(c.cellId, i);
  });
}

/** The record runCell returned must be valid and belong to `cell`. */
function checkReturnedRecord(raw: unknown, cell: Cell, index: number): RunRecord {
  const where = `runCell(cell ${index}, ${cell.cellId})`;
  const record = validateRecord(raw, where);
  const mismatches: string[] = [];
  if (record.cellId !== cell.cellId) mismatches.push(`cellId ${record.cellId} != ${cell.cellId}`);
  if (record.task !== cell.task) mismatches.push(`task ${JSON.stringify(record.task)} != ${JSON.stringify(cell.task)}`);
  if (record.method !== cell.method)
    mismatches.push(`method ${JSON.stringify(record.method)} != ${JSON.stringify(cell.method)}`);
  if (record.seed !== cell.seed) mismatches.push(`seed ${record.seed} != ${cell.seed}`);
  if (record.backbone.name !== cell.backbone)
    mismatches.push(`backbone.name ${JSON.stringify(record.backbone.name)} != ${JSON.stringify(cell.backbone)}`);
  if (canonicalJson(record.config) !== canonicalJson(cell.config)) {
    mismatches.push(`config ${canonicalJson(record.config)} != cell config ${canonicalJson(cell.config)}`);
  }
  if (mismatches.length > 0) {
    throw new Error(
      `${where}: the record does not belong to this cell (use cellFields(cell)): ${mismatches.join("; ")}`,
    );
  }
  return record;
}
