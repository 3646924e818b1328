/**
 * Runs a list of grid cells from a notebook with live progress and returns their records, resumably: every
 * record is appended to a results file by runGrid (lib/experiment/runner.ts), so re-running a killed notebook
 * skips the cells already recorded.
 *
 * Two ways to run:
 * - in this process (`workers: 0`, the default): cells one after another through runCell, with a progress bar
 *   over all training steps and a live learning curve (training loss of every cell);
 * - in worker processes (`workers >= 1`): build/lib/experiment/cell-worker.js, `workers` cells at a time; the
 *   bar then advances per finished cell (workers report no steps).
 * Either way a small live table lists the cells finished last, with their test accuracy and time.
 *
 * With `reuseFrom`, a pending cell that is the very same run as one already recorded elsewhere (same resolved
 * options, same backbone weights; lib/experiment/reuse.ts) is copied from there, marked `reusedFrom`.
 *
 * Before running, records already in the file for these cells are checked against the backbones now in
 * models/: a record made with another version of a backbone (a different weights fingerprint) stops the run
 * with an error naming the file, instead of silently mixing old and new results.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { canonicalJson } from "../experiment/cell-id";
import type { Cell } from "../experiment/grid";
import { ProcessPool } from "../experiment/process-pool";
import { readRecords, type RunRecord } from "../experiment/record";
import { RecordReuse, realOrResolved } from "../experiment/reuse";
import { relativeInside } from "../io/paths";
import { runCell, resolveCellOptions, projectRoot, stage1StepsOf, type CellProgress } from "../experiment/run-cell";
import { describeCell, describeGridEvent, runGrid, type CellFailure, type GridEvent, type OnError } from "../experiment/runner";
import { getMethod } from "../tuning/methods";
import { currentSink, DisplayHandle, type DisplaySink } from "../viz/display";
import { formatDuration } from "../io/format";
import { LiveCurve, ProgressBar, type ProgressStream } from "../viz/live";
import { renderTable } from "../viz/table";
import { backboneInfo } from "./backbones";

/** Runs one cell; `progress` receives its training steps (worker runs may ignore it). */
export type CellRunner = (cell: Cell, progress: CellProgress) => Promise<RunRecord>;

export interface RunCellsOptions {
  /** results.jsonl to resume from and append to (directories are created). */
  readonly resultsPath: string;
  /** 0: run in this process with per-step progress; n >= 1: n worker processes at once. Default 0. */
  readonly workers?: number;
  /** Delete the results file first, so every cell runs (quick runs start clean). Default false. */
  readonly fresh?: boolean;
  /** Shown on the progress bar. */
  readonly label?: string;
  /** Live training-loss curve, one line per cell (in-process runs only). Default true. */
  readonly curve?: boolean;
  /** "stop" (default): the first failing cell fails the call; "record-and-continue": log it and go on. */
  readonly onError?: OnError;
  /** Check resumed records' backbone fingerprints against models/ (default true). */
  readonly checkFingerprints?: boolean;
  /** Finished cells listed in the live table (default 8). */
  readonly tableRows?: number;
  /** Project root (models/, build/); default: found from this file. */
  readonly root?: string;
  /** Where displays go (default: the notebook, else the console). */
  readonly sink?: DisplaySink;
  /** Console progress stream (default process.stderr). */
  readonly stream?: ProgressStream;
  /**
   * Other results files whose finished runs may stand in for cells of this call (see lib/experiment/reuse.ts):
   * a pending cell whose resolved configuration and backbone fingerprint equal a recorded run's is copied into
   * `resultsPath` (with `reusedFrom` set) instead of trained again. Missing files are ignored. Default none.
   */
  readonly reuseFrom?: readonly string[];
  /** Replaces how a cell runs (tests); default runCell here, or the cell worker when workers >= 1. */
  readonly runner?: CellRunner;
}

export interface RunCellsResult {
  /** Records of the given cells, in the order of `cells` (cells without a record are left out). */
  readonly records: RunRecord[];
  /** Cells run by this call. */
  readonly ran: number;
  /** Cells that already had a record. */
  readonly skipped: number;
  /** Cells of `ran` whose record was copied from a `reuseFrom` file rather than computed. */
  readonly reused: number;
  readonly failed: readonly CellFailure[];
  readonly elapsedSeconds: number;
}

interface Resolved {
  resultsPath: string;
  workers: number;
  fresh: boolean;
  label: string;
  curve: boolean;
  onError: OnError;
  checkFingerprints: boolean;
  tableRows: number;
  root: string;
  reuseFrom: string[];
}

/** Validates options; errors name the option and the bad value. */
export function resolveRunCellsOptions(o: RunCellsOptions): Resolved {
  if (o === null || typeof o !== "object") throw new Error(`runCells: options must be an object, got ${String(o)}`);
  if (typeof o.resultsPath !== "string" || o.resultsPath === "") {
    throw new Error(`runCells: resultsPath must be a non-empty string, got ${JSON.stringify(o.resultsPath)}`);
  }
  const workers = o.workers ?? 0;
  if (!Number.isInteger(workers) || workers < 0) throw new Error(`runCells: workers must be an integer >= 0, got ${JSON.stringify(o.workers)}`);
  const tableRows = o.tableRows ?? 8;
  if (!Number.isInteger(tableRows) || tableRows < 1) throw new Error(`runCells: tableRows must be an integer >= 1, got ${JSON.stringify(o.tableRows)}`);
  const onError = o.onError ?? "stop";
  if (onError !== "stop" && onError !== "record-and-continue") {
    throw new Error(`runCells: onError must be "stop" or "record-and-continue", got ${JSON.stringify(o.onError)}`);
  }
  return {
    resultsPath: path.resolve(o.resultsPath),
    workers,
    fresh: o.fresh ?? false,
    label: o.label ?? "cells",
    curve: o.curve ?? true,
    onError,
    checkFingerprints: o.checkFingerprints ?? true,
    tableRows,
    root: o.root ?? projectRoot(),
    reuseFrom: resolveReuseFrom(o.reuseFrom),
  };
}

function resolveReuseFrom(v: unknown): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((f) => typeof f !== "string" || f === "")) {
    throw new Error(`runCells: reuseFrom must be an array of file paths, got ${JSON.stringify(v)}`);
  }
  return v.map((f: string) => path.resolve(f));
}

/** `file` relative to `root` when it lies inside it (symlinked roots resolved), else unchanged. */
function projectRelative(root: string, file: string): string {
  if (!path.isAbsolute(file)) return file;
  for (const [r, f] of [[root, file], [realOrResolved(root), realOrResolved(file)]] as const) {
    const rel = relativeInside(r, f);
    if (rel !== null) return rel;
  }
  return file;
}

/**
 * Short names for cells in progress displays: the fields that differ among `cells` (backbone, task, method,
 * options; null shown as "all"), plus the seed, e.g. "prompt-tuning promptLength=5 s0".
 */
export function cellLabels(cells: readonly Cell[]): Map<string, string> {
  const varies = (f: (c: Cell) => unknown): boolean => new Set(cells.map((c) => canonicalJson(f(c) ?? null))).size > 1;
  const optionKeys = [...new Set(cells.flatMap((c) => Object.keys(c.options)))].sort().filter((k) => varies((c) => c.options[k]));
  const out = new Map<string, string>();
  for (const c of cells) {
    const parts: string[] = [];
    if (varies((x) => x.backbone)) parts.push(c.backbone);
    if (varies((x) => x.task)) parts.push(c.task);
    if (varies((x) => x.method)) parts.push(c.method);
    for (const k of optionKeys) {
      const v = c.options[k];
      // null is "all" for the kit's size options (trainPerClass, maxDev, maxTest).
      if (v !== undefined) parts.push(`${k}=${typeof v === "string" ? v : v === null ? "all" : canonicalJson(v)}`);
    }
    parts.push(`s${c.seed}`);
    out.set(c.cellId, parts.join(" "));
  }
  return out;
}

/** Progress units of a cell: its training steps, or 1 for a method that does not train. */
export function cellUnits(cell: Cell): number {
  if (!getMethod(cell.method).trains) return 1;
  const o = resolveCellOptions(cell.options, `cell ${cell.cellId}`);
  return stage1StepsOf(o) + o.steps;
}

/**
 * Records in `records` for these cells whose backbone fingerprint differs from the one recorded in
 * models/<backbone>/model.safetensors; [] when all match (or a backbone has no recorded fingerprint).
 */
export function staleRecords(records: readonly RunRecord[], cells: readonly Cell[], root: string): RunRecord[] {
  const wanted = new Set(cells.map((c) => c.cellId));
  const fingerprintOf = shippedFingerprints(root);
  return records.filter((r) => {
    if (!wanted.has(r.cellId)) return false;
    const fp = fingerprintOf(r.backbone.name);
    return fp !== null && fp !== r.backbone.fingerprint;
  });
}

/**
 * Looks up the recorded weights fingerprint of a shipped backbone (models/<name>), cached; null for a backbone
 * given as a path or no longer shipped (it cannot be compared).
 */
export function shippedFingerprints(root: string): (name: string) => string | null {
  const current = new Map<string, string | null>();
  return (name) => {
    if (!current.has(name)) {
      let fp: string | null = null;
      if (!name.includes("/") && fs.existsSync(path.join(root, "models", name))) fp = backboneInfo(name, root).recordedFingerprint;
      current.set(name, fp);
    }
    return current.get(name)!;
  };
}

/** Reads the file's records for `cells`, first record per cell, in cell order. */
export function recordsForCells(resultsPath: string, cells: readonly Cell[], onWarning?: (m: string) => void): RunRecord[] {
  const byId = new Map<string, RunRecord>();
  for (const r of readRecords(resultsPath, { allowMissing: true, onWarning })) if (!byId.has(r.cellId)) byId.set(r.cellId, r);
  return cells.map((c) => byId.get(c.cellId)).filter((r): r is RunRecord => r !== undefined);
}

/** Runs the cells that have no record yet in `resultsPath`, with live progress; see the file comment. */
export async function runCells(cells: readonly Cell[], options: RunCellsOptions): Promise<RunCellsResult> {
  const o = resolveRunCellsOptions(options);
  const sink = options.sink ?? currentSink();
  const notebook = sink.kind !== "console";
  const stream: ProgressStream = options.stream ?? process.stderr;
  const say = (text: string): void => {
    stream.write(text + "\n");
  };
  if (cells.length === 0) throw new Error("runCells: no cells given (an empty grid?)");
  if (o.fresh) {
    fs.rmSync(o.resultsPath, { force: true });
    fs.rmSync(o.resultsPath.replace(/\.jsonl$/, "") + ".errors.jsonl", { force: true });
  }
  const existing = recordsForCells(o.resultsPath, cells, say);
  if (o.checkFingerprints) {
    const stale = staleRecords(existing, cells, o.root);
    if (stale.length > 0) {
      const r = stale[0]!;
      throw new Error(
        `${o.resultsPath}: ${stale.length} recorded run(s) of these cells used another version of backbone '${r.backbone.name}' ` +
          `(fingerprint ${r.backbone.fingerprint.slice(0, 19)}..., now ${backboneInfo(r.backbone.name, o.root).recordedFingerprint?.slice(0, 19)}...); ` +
          `move that file away (or pass fresh: true) and run again, so old and new results are not mixed`,
      );
    }
  }
  const done = new Set(existing.map((r) => r.cellId));
  const pending = cells.filter((c) => !done.has(c.cellId));
  const reusable = new Map<string, RunRecord>();
  let reuseFiles: readonly string[] = [];
  if (o.reuseFrom.length > 0 && pending.length > 0) {
    const reuse = new RecordReuse(o.reuseFrom, { fingerprintOf: shippedFingerprints(o.root), exclude: [o.resultsPath], onWarning: say });
    reuseFiles = reuse.files;
    for (const c of pending) {
      const r = reuse.find(c);
      // Files inside the project are named relative to its root, so records stay valid in a moved checkout.
      if (r !== null) reusable.set(c.cellId, { ...r, reusedFrom: { ...r.reusedFrom, file: projectRelative(o.root, r.reusedFrom.file) } });
    }
  }
  const labels = cellLabels(cells);
  const inProcess = o.workers === 0;
  const units = new Map(cells.map((c) => [c.cellId, reusable.has(c.cellId) ? 0 : inProcess ? cellUnits(c) : 1]));
  const totalUnits = Math.max(1, pending.reduce((s, c) => s + units.get(c.cellId)!, 0));

  // In a notebook the plan goes to stdout (stderr shows as an alarming red block); on the console, to the stream.
  const plan = notebook && !options.stream ? (t: string) => process.stdout.write(t + "\n") : say;
  const reusedNote = reusable.size > 0
    ? `, copying ${reusable.size} identical finished run${reusable.size > 1 ? "s" : ""} from ${[...new Set([...reusable.values()].map((r) => r.reusedFrom!.file))].join(", ")}`
    : reuseFiles.length > 0 ? `, none reusable from ${reuseFiles.length} earlier results file${reuseFiles.length > 1 ? "s" : ""}` : "";
  plan(`${o.label}: ${cells.length} cells, ${existing.length} already in ${path.relative(o.root, o.resultsPath)}${reusedNote}, running ${pending.length - reusable.size} ` +
    (inProcess ? "in this process" : `in ${o.workers} worker process${o.workers > 1 ? "es" : ""}`));
  const curve = inProcess && o.curve && pending.some((c) => units.get(c.cellId)! > 1)
    ? new LiveCurve({ title: `${o.label}: training loss per cell`, yTitle: "training loss", sink })
    : null;
  const bar = pending.length > reusable.size ? new ProgressBar(totalUnits, { label: o.label, sink, stream }) : null;
  const table = notebook ? new DisplayHandle(sink) : null;
  const finished: { cell: string; accuracy: string; seconds: string }[] = [];
  const renderTableNow = (): void => {
    if (!table || finished.length === 0) return;
    const shown = finished.slice(-o.tableRows);
    const { html, text } = renderTable(shown, {
      title: `finished ${finished.length} of ${pending.length}${finished.length > shown.length ? ` (last ${shown.length})` : ""}`,
    });
    table.render({ "text/html": html, "text/plain": text });
  };

  let offset = 0; // units of cells already finished in this call
  let pool: ProcessPool<Cell, RunRecord> | null = null;
  const runner: CellRunner =
    options.runner ??
    (inProcess
      ? (cell, progress) => runCell(cell, progress)
      : (cell) => {
          pool ??= new ProcessPool<Cell, RunRecord>({ script: path.join(o.root, "build", "lib", "experiment", "cell-worker.js"), size: o.workers });
          return pool.run(cell);
        });
  const onProgress = (ev: GridEvent): void => {
    if (ev.type === "cell-finish" || ev.type === "cell-error") {
      offset += units.get(ev.cell.cellId)!;
      bar?.update(Math.min(offset, totalUnits), ev.type === "cell-finish" ? { metrics: { "last acc": ev.record.metrics.accuracy } } : {});
      finished.push({
        cell: labels.get(ev.cell.cellId)!,
        accuracy: ev.type === "cell-finish" ? ev.record.metrics.accuracy.toFixed(4) : `FAILED: ${ev.error.message.slice(0, 80)}`,
        seconds: reusable.has(ev.cell.cellId) ? "reused" : formatDuration(ev.cellSeconds),
      });
      renderTableNow();
    }
    // The console gets one line per event; a notebook shows the bar and the table instead.
    if (!notebook && ev.type !== "resume") say(`[${o.label}] ${describeGridEvent(ev)}`);
  };
  const t0 = Date.now();
  try {
    // Copies first (they take no time), then the runs, each group in the caller's order.
    const order = [...cells.filter((c) => reusable.has(c.cellId)), ...cells.filter((c) => !reusable.has(c.cellId))];
    const result = await runGrid(order, {
      resultsPath: o.resultsPath,
      concurrency: inProcess ? 1 : o.workers,
      onError: o.onError,
      onProgress,
      onWarning: say,
      runCell: (cell) => {
        const base = offset;
        const name = labels.get(cell.cellId) ?? describeCell(cell);
        const progress: CellProgress = {
          onStep: (step, _total, loss) => {
            if (!inProcess) return;
            bar?.update(Math.min(base + step, totalUnits), { loss });
            if (Number.isFinite(loss)) curve?.push(name, step, loss);
          },
        };
        const copy = reusable.get(cell.cellId);
        return copy !== undefined ? Promise.resolve(copy) : runner(cell, progress);
      },
    });
    bar?.finish();
    curve?.finish();
    return {
      records: recordsForCells(o.resultsPath, cells, say),
      ran: result.records.length,
      skipped: result.skipped,
      reused: result.records.filter((r) => reusable.has(r.cellId)).length,
      failed: result.failed,
      elapsedSeconds: (Date.now() - t0) / 1000,
    };
  } finally {
    if (pool !== null) await (pool as ProcessPool<Cell, RunRecord>).close();
  }
}

/** Concatenates cell lists keeping the first of each cellId (studies that share a configuration run it once). */
export function uniqueCells(...lists: readonly (readonly Cell[])[]): Cell[] {
  const seen = new Set<string>();
  const out: Cell[] = [];
  for (const list of lists) {
    for (const c of list) {
      if (!seen.has(c.cellId)) {
        seen.add(c.cellId);
        out.push(c);
      }
    }
  }
  return out;
}

/** The records that belong to `cells` (e.g. one study of a notebook that ran several together), in cell order. */
export function recordsOf(records: readonly RunRecord[], cells: readonly Cell[]): RunRecord[] {
  const byId = new Map<string, RunRecord>();
  for (const r of records) if (!byId.has(r.cellId)) byId.set(r.cellId, r);
  return cells.map((c) => byId.get(c.cellId)).filter((r): r is RunRecord => r !== undefined);
}
