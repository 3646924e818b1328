/**
 * Shared by `npm run bench` and `npm run grid` (which validate every cell first, with check-cells.ts): refuse to
 * resume a results file made with other backbone weights, run the cells in worker processes (resumable results.jsonl), then write summary.csv
 * and the self-contained report.html next to it.
 */
import { imbalanceStatement } from "../lib/eval/class-balance";
import * as path from "node:path";
import type { Cell } from "../lib/experiment/grid";
import { ProcessPool } from "../lib/experiment/process-pool";
import { readRecords, recordsOf, RunRecord } from "../lib/experiment/record";
import { defaultErrorsPath, describeCell, describeGridEvent, runGrid, RunGridResult } from "../lib/experiment/runner";
import { summarizeRecords, SummaryRow, toCsv } from "../lib/experiment/summary";
import {
  checkOneFingerprintPerBackbone,
  checkResumeFingerprints,
  shippedFingerprints,
} from "../lib/experiment/weights-fingerprint";
import { writeFileAtomic } from "../lib/io/atomic-write";
import { experimentReportHtml } from "../lib/viz/report";

export interface GridReportOptions {
  readonly cells: readonly Cell[];
  readonly outDir: string;
  readonly root: string;
  readonly concurrency: number;
  readonly title: string;
  readonly command: string;
  readonly notes?: readonly string[];
  readonly logPrefix?: string;
}

export interface GridReport {
  readonly result: RunGridResult;
  readonly records: RunRecord[];
  readonly rows: SummaryRow[];
  /** "2 of 6 cells failed ...; first: ..." when cells failed, else null. */
  readonly failures: string | null;
}

export async function runGridReport(o: GridReportOptions): Promise<GridReport> {
  const resultsPath = path.join(o.outDir, "results.jsonl");
  const fingerprintOf = shippedFingerprints(o.root);
  const earlier = recordsOf(readRecords(resultsPath, { allowMissing: true }), o.cells);
  checkResumeFingerprints(
    earlier,
    o.cells,
    fingerprintOf,
    resultsPath,
    "write to another --out DIR (or move that file away) and run again",
  );
  const pool = new ProcessPool<Cell, RunRecord>({
    script: path.join(o.root, "build", "lib", "experiment", "cell-worker.js"),
    size: o.concurrency,
  });
  let result: RunGridResult;
  try {
    result = await runGrid(o.cells, {
      resultsPath,
      runCell: (cell) => pool.run(cell),
      concurrency: o.concurrency,
      onProgress: (ev) => console.error(`${o.logPrefix ?? ""}${describeGridEvent(ev)}`),
      onError: "record-and-continue",
    });
  } finally {
    await pool.close();
  }
  const { records, rows } = writeGridReport(o);
  return { result, records, rows, failures: failureSummary(result, resultsPath) };
}

/**
 * Reads the records of `cells` from DIR/results.jsonl and writes DIR/summary.csv and DIR/report.html (what a run
 * ends with; `npm run grid -- --collect` calls it after merging shard files).
 */
export function writeGridReport(o: Pick<GridReportOptions, "cells" | "outDir" | "title" | "command" | "notes">): {
  records: RunRecord[];
  rows: SummaryRow[];
} {
  const resultsPath = path.join(o.outDir, "results.jsonl");
  const records = recordsOf(readRecords(resultsPath, { allowMissing: true }), o.cells);
  checkOneFingerprintPerBackbone(records, resultsPath);
  const rows = summarizeRecords(records);
  writeFileAtomic(path.join(o.outDir, "summary.csv"), toCsv(rows));
  writeFileAtomic(
    path.join(o.outDir, "report.html"),
    experimentReportHtml({
      title: o.title,
      records,
      command: o.command,
      notes: [...(o.notes ?? []), ...balanceNotes(records)],
    }),
  );
  return { records, rows };
}

/** How many cells failed this time, where they are logged, and the first cause; null when none failed. */
export function failureSummary(result: RunGridResult, resultsPath: string): string | null {
  if (result.failed.length === 0) return null;
  const first = result.failed[0]!;
  return (
    `${result.failed.length} of ${result.total - result.skipped} cells run failed (details in ${defaultErrorsPath(resultsPath)}); ` +
    `first: cell ${first.index} (${describeCell(first.cell)}): ${first.error.message}`
  );
}

/**
 * One sentence per task whose evaluated test examples are imbalanced (lib/eval/class-balance.ts), from the first
 * record of that task that counted them: the report then says to read macro-F1 and MCC, not accuracy alone.
 */
export function balanceNotes(records: readonly RunRecord[]): string[] {
  const seen = new Set<string>();
  const notes: string[] = [];
  for (const r of records) {
    if (seen.has(r.task) || r.testLabels === undefined) continue;
    seen.add(r.task);
    const note = imbalanceStatement(r.testLabels, `The test split of "${r.task}"`);
    if (note !== null) notes.push(note);
  }
  return notes;
}
