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
 * Either way a small live table lists the cells finished last (cells-progress.ts).
 *
 * Every cell (method, task, options; backbone too unless a custom runner is given) is validated before the
 * first one runs (lib/experiment/check-cells.ts).
 *
 * With `reuseFrom`, a pending cell that is the very same run as one already recorded elsewhere (same resolved
 * options, same backbone weights; lib/experiment/reuse.ts) is copied from there, marked `reusedFrom`.
 *
 * Before running, records already in the file for these cells are checked against the backbones now in
 * models/: a record made with another version of a backbone (a different weights fingerprint) stops the run
 * with an error naming the file and both fingerprints, instead of silently mixing old and new results.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { checkCells } from "../experiment/check-cells";
import type { Cell } from "../experiment/grid";
import { fetchHubBackbones } from "../experiment/project-paths";
import { ProcessPool } from "../experiment/process-pool";
import { readRecords, recordsOf, type RunRecord } from "../experiment/record";
import { RecordReuse, realOrResolved } from "../experiment/reuse";
import { relativeInside } from "../io/paths";
import { runCell } from "../experiment/run-cell";
import { defaultErrorsPath, runGrid, type CellFailure } from "../experiment/runner";
import { checkResumeFingerprints, shippedFingerprints } from "../experiment/weights-fingerprint";
import { currentSink } from "../viz/display";
import type { ProgressStream } from "../viz/live";
import { CellsProgress } from "./cells-progress";
import {
  resolveRunCellsOptions,
  type CellRunner,
  type ResolvedRunCellsOptions,
  type RunCellsOptions,
} from "./run-cells-options";

// The names notebooks and tests have always imported from here.
export { cellLabels, cellUnits } from "./cell-labels";
export { resolveRunCellsOptions, type CellRunner, type RunCellsOptions } from "./run-cells-options";
export { shippedFingerprints, staleRecords } from "../experiment/weights-fingerprint";
/** The records of `cells` (e.g. one study of a notebook that ran several together), in cell order. */
export { recordsOf } from "../experiment/record";

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

/** Runs the cells that have no record yet in `resultsPath`, with live progress; see the file comment. */
export async function runCells(cells: readonly Cell[], options: RunCellsOptions): Promise<RunCellsResult> {
  const o = resolveRunCellsOptions(options);
  const sink = options.sink ?? currentSink();
  const stream: ProgressStream = options.stream ?? process.stderr;
  const say = (text: string): void => {
    stream.write(text + "\n");
  };
  if (cells.length === 0) throw new Error("runCells: no cells given (an empty grid?)");
  if (options.runner === undefined) await fetchHubBackbones(cells.map((c) => c.backbone));
  checkCells(cells, { source: `runCells (${o.label})`, backbones: options.runner === undefined, root: o.root });
  if (o.fresh) {
    fs.rmSync(o.resultsPath, { force: true });
    fs.rmSync(defaultErrorsPath(o.resultsPath), { force: true });
  }
  const existing = recordsOf(readRecords(o.resultsPath, { allowMissing: true, onWarning: say }), cells);
  if (o.checkFingerprints) {
    checkResumeFingerprints(
      existing,
      cells,
      shippedFingerprints(o.root),
      o.resultsPath,
      "move that file away (or pass fresh: true) and run again",
    );
  }
  const done = new Set(existing.map((r) => r.cellId));
  const pending = cells.filter((c) => !done.has(c.cellId));
  const { reusable, files: reuseFiles } = reusableRuns(pending, o, say);
  const inProcess = o.workers === 0;
  // In a notebook the plan goes to stdout (stderr shows as an alarming red block); on the console, to the stream.
  const plan = sink.kind !== "console" && !options.stream ? (t: string) => process.stdout.write(t + "\n") : say;
  plan(
    `${o.label}: ${cells.length} cells, ${existing.length} already in ${path.relative(o.root, o.resultsPath)}${reusedNote(reusable, reuseFiles)}, ` +
      `running ${pending.length - reusable.size} ` +
      (inProcess ? "in this process" : `in ${o.workers} worker process${o.workers > 1 ? "es" : ""}`),
  );
  const view = new CellsProgress({
    cells,
    pending,
    reused: new Set(reusable.keys()),
    label: o.label,
    inProcess,
    curve: o.curve,
    tableRows: o.tableRows,
    sink,
    stream,
    say,
  });

  const { runner, close } = options.runner
    ? { runner: options.runner, close: async () => undefined }
    : defaultRunner(o);
  const t0 = Date.now();
  try {
    // Copies first (they take no time), then the runs, each group in the caller's order.
    const order = [...cells.filter((c) => reusable.has(c.cellId)), ...cells.filter((c) => !reusable.has(c.cellId))];
    const result = await runGrid(order, {
      resultsPath: o.resultsPath,
      concurrency: inProcess ? 1 : o.workers,
      onError: o.onError,
      onProgress: (ev) => view.onGridEvent(ev),
      onWarning: say,
      runCell: (cell) => {
        const copy = reusable.get(cell.cellId);
        return copy !== undefined ? Promise.resolve(copy) : runner(cell, view.cellProgress(cell));
      },
    });
    view.finish();
    return {
      records: recordsOf(readRecords(o.resultsPath, { allowMissing: true, onWarning: say }), cells),
      ran: result.records.length,
      skipped: result.skipped,
      reused: result.records.filter((r) => reusable.has(r.cellId)).length,
      failed: result.failed,
      elapsedSeconds: (Date.now() - t0) / 1000,
    };
  } finally {
    await close();
  }
}

/** runCell in this process (workers 0), else a pool of `workers` cell-worker processes started on first use. */
function defaultRunner(o: ResolvedRunCellsOptions): { runner: CellRunner; close: () => Promise<void> } {
  if (o.workers === 0) return { runner: (cell, progress) => runCell(cell, progress), close: async () => undefined };
  let pool: ProcessPool<Cell, RunRecord> | null = null;
  return {
    runner: (cell) => {
      pool ??= new ProcessPool<Cell, RunRecord>({
        script: path.join(o.root, "build", "lib", "experiment", "cell-worker.js"),
        size: o.workers,
      });
      return pool.run(cell);
    },
    close: async () => {
      if (pool !== null) await pool.close();
    },
  };
}

/** Pending cells whose identical finished run is in a `reuseFrom` file, as copies to append; and the files read. */
function reusableRuns(
  pending: readonly Cell[],
  o: ResolvedRunCellsOptions,
  say: (t: string) => void,
): { reusable: Map<string, RunRecord>; files: readonly string[] } {
  const reusable = new Map<string, RunRecord>();
  if (o.reuseFrom.length === 0 || pending.length === 0) return { reusable, files: [] };
  const reuse = new RecordReuse(o.reuseFrom, {
    fingerprintOf: shippedFingerprints(o.root),
    exclude: [o.resultsPath],
    onWarning: say,
  });
  for (const c of pending) {
    const r = reuse.find(c);
    // Files inside the project are named relative to its root, so records stay valid in a moved checkout.
    if (r !== null)
      reusable.set(c.cellId, {
        ...r,
        reusedFrom: { ...r.reusedFrom, file: projectRelative(o.root, r.reusedFrom.file) },
      });
  }
  return { reusable, files: reuse.files };
}

function reusedNote(reusable: ReadonlyMap<string, RunRecord>, files: readonly string[]): string {
  if (reusable.size > 0) {
    const from = [...new Set([...reusable.values()].map((r) => r.reusedFrom!.file))];
    return `, copying ${reusable.size} identical finished run${reusable.size > 1 ? "s" : ""} from ${from.join(", ")}`;
  }
  return files.length > 0
    ? `, none reusable from ${files.length} earlier results file${files.length > 1 ? "s" : ""}`
    : "";
}

/** `file` relative to `root` when it lies inside it (symlinked roots resolved), else unchanged. */
function projectRelative(root: string, file: string): string {
  if (!path.isAbsolute(file)) return file;
  for (const [r, f] of [
    [root, file],
    [realOrResolved(root), realOrResolved(file)],
  ] as const) {
    const rel = relativeInside(r, f);
    if (rel !== null) return rel;
  }
  return file;
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
