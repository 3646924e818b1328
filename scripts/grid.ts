/**
 * npm run grid -- GRID.json [--out DIR] [--concurrency 2]
 *
 * Runs any experiment grid written as data (lib/experiment/grid.ts GridSpec: methods x tasks x backbones x seeds x
 * option axes, plus fixed options), each cell in a worker process, appending to DIR/results.jsonl (resumable: the
 * same command skips finished cells), then prints the summary table and writes summary.csv and report.html.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { initBackend } from "../lib/backend/backend";
import { expandGrid, GridSpec, Cell } from "../lib/experiment/grid";
import { ProcessPool } from "../lib/experiment/process-pool";
import { readRecords, RunRecord } from "../lib/experiment/record";
import { describeGridEvent, runGrid } from "../lib/experiment/runner";
import { formatSummaryTable, summarizeRecords, toCsv } from "../lib/experiment/summary";
import { projectRoot } from "../lib/experiment/run-cell";
import { writeFileAtomic } from "../lib/io/atomic-write";
import { experimentReportHtml } from "../lib/viz/report";
import { parseArgs } from "./args";

async function main(): Promise<void> {
  const [file, ...rest] = process.argv.slice(2);
  const usage = "usage: npm run grid -- GRID.json [--out DIR] [--concurrency N]";
  if (!file || file.startsWith("--")) throw new Error(usage);
  const args = parseArgs(rest, { out: { type: "string", default: "" }, concurrency: { type: "int", default: 2 } }, usage);
  let spec: GridSpec;
  try {
    spec = JSON.parse(fs.readFileSync(file, "utf8")) as GridSpec;
  } catch (err) {
    throw new Error(`${file}: cannot read the grid: ${(err as Error).message}`);
  }
  const cells = expandGrid(spec);
  const root = projectRoot();
  const outDir = path.resolve((args.out as string) || path.join(root, "reports", spec.name));
  const resultsPath = path.join(outDir, "results.jsonl");
  await initBackend();
  console.error(`grid ${spec.name}: ${cells.length} cells -> ${resultsPath}`);
  const pool = new ProcessPool<Cell, RunRecord>({ script: path.join(root, "build", "lib", "experiment", "cell-worker.js"), size: args.concurrency as number });
  try {
    await runGrid(cells, { resultsPath, runCell: (c) => pool.run(c), concurrency: args.concurrency as number, onProgress: (ev) => console.error(describeGridEvent(ev)), onError: "record-and-continue" });
  } finally {
    await pool.close();
  }
  const ids = new Set(cells.map((c) => c.cellId));
  const records = readRecords(resultsPath).filter((r) => ids.has(r.cellId));
  const rows = summarizeRecords(records);
  writeFileAtomic(path.join(outDir, "summary.csv"), toCsv(rows));
  writeFileAtomic(path.join(outDir, "report.html"), experimentReportHtml({ title: `grid ${spec.name}`, records, command: `npm run grid -- ${process.argv.slice(2).join(" ")}` }));
  console.log(formatSummaryTable(rows));
  console.log(`\n${records.length}/${cells.length} cells recorded in ${outDir}`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
