/**
 * npm run grid -- GRID.json [--out DIR] [--concurrency 2]
 *
 * Runs any experiment grid written as data (lib/experiment/grid.ts GridSpec: methods x tasks x backbones x seeds x
 * option axes, plus fixed options), each cell in a worker process, appending to DIR/results.jsonl (resumable: the
 * same command skips finished cells), then prints the summary table and writes summary.csv and report.html.
 * Every cell is validated before the first one starts; the command exits 1 when any cell failed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { initBackend } from "../lib/backend/backend";
import { checkCells, gridOptionSource } from "../lib/experiment/check-cells";
import { expandGrid, GridSpec } from "../lib/experiment/grid";
import { formatSummaryTable } from "../lib/experiment/summary";
import { projectRoot } from "../lib/experiment/project-paths";
import { positiveInt } from "../lib/io/validate";
import { parseArgs } from "./args";
import { runGridReport } from "./run-grid-report";

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
  const concurrency = positiveInt(args.concurrency, "--concurrency");
  let cells;
  try {
    cells = expandGrid(spec);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  const root = projectRoot();
  checkCells(cells, { source: file, root, optionSource: (cell, key) => gridOptionSource(spec, cell, key) });
  if (!args.out && (!/^[\w.-]+$/.test(spec.name) || /^\.+$/.test(spec.name))) {
    throw new Error(`${file}: name ${JSON.stringify(spec.name)} is not a plain folder name for reports/NAME; rename the grid or give --out DIR`);
  }
  const outDir = path.resolve((args.out as string) || path.join(root, "reports", spec.name));
  await initBackend();
  console.error(`grid ${spec.name}: ${cells.length} cells -> ${path.join(outDir, "results.jsonl")}`);
  const { records, rows, failures } = await runGridReport({
    cells, outDir, root, concurrency, title: `grid ${spec.name}`, command: `npm run grid -- ${process.argv.slice(2).join(" ")}`,
  });
  if (records.length > 0) console.log(formatSummaryTable(rows));
  console.log(`\n${records.length}/${cells.length} cells recorded in ${outDir}`);
  if (failures !== null) {
    console.error(failures);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
