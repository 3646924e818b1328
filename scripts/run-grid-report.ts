/**
 * Shared by `npm run bench` and `npm run grid`: run cells in worker processes (resumable results.jsonl), then
 * write summary.csv and the self-contained report.html next to it.
 */
import * as path from "node:path";
import type { Cell } from "../lib/experiment/grid";
import { ProcessPool } from "../lib/experiment/process-pool";
import { readRecords, RunRecord } from "../lib/experiment/record";
import { describeGridEvent, runGrid, RunGridResult } from "../lib/experiment/runner";
import { summarizeRecords, SummaryRow, toCsv } from "../lib/experiment/summary";
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

export async function runGridReport(o: GridReportOptions): Promise<{ result: RunGridResult; records: RunRecord[]; rows: SummaryRow[] }> {
  const resultsPath = path.join(o.outDir, "results.jsonl");
  const pool = new ProcessPool<Cell, RunRecord>({ script: path.join(o.root, "build", "lib", "experiment", "cell-worker.js"), size: o.concurrency });
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
  const ids = new Set(o.cells.map((c) => c.cellId));
  const records = readRecords(resultsPath).filter((r) => ids.has(r.cellId));
  const rows = summarizeRecords(records);
  writeFileAtomic(path.join(o.outDir, "summary.csv"), toCsv(rows));
  writeFileAtomic(path.join(o.outDir, "report.html"), experimentReportHtml({ title: o.title, records, command: o.command, notes: o.notes }));
  return { result, records, rows };
}
