/**
 * npm run grid -- GRID.json [--out DIR] [--concurrency 2] [--shard I/N | --collect]
 *
 * Runs any experiment grid written as data (lib/experiment/grid.ts GridSpec: methods x tasks x backbones x seeds x
 * option axes, plus fixed options), each cell in a worker process, appending to DIR/results.jsonl (resumable: the
 * same command skips finished cells), then prints the summary table and writes summary.csv and report.html.
 * Every cell is validated before the first one starts; the command exits 1 when any cell failed.
 *
 * A `tasks` entry (or `fixed.stage1Task`) may be a file task object; its `file` is relative to the grid file's folder.
 *
 * Sweeps on several machines (lib/experiment/shards.ts): `--shard I/N` runs only shard I of N (0-based) into
 * DIR/shards/I-of-N/results.jsonl; `--collect` merges every shard file into DIR/results.jsonl, writes the summary
 * and report as a normal run, and exits 1 listing the cells no shard recorded.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { initBackend } from "../lib/backend/backend";
import { checkCells, gridOptionSource } from "../lib/experiment/check-cells";
import { expandGrid, GridSpec } from "../lib/experiment/grid";
import { formatSummaryTable } from "../lib/experiment/summary";
import {
  appendCollected,
  cellsOfShard,
  collectShards,
  describeMissing,
  parseShardSpec,
  shardDir,
  shardResultsPath,
  type ShardSpec,
} from "../lib/experiment/shards";
import { fetchHubBackbones, projectRoot } from "../lib/experiment/project-paths";
import { positiveInt } from "../lib/io/validate";
import { parseArgs } from "./args";
import { runGridReport, writeGridReport } from "./run-grid-report";

async function main(): Promise<void> {
  const [file, ...rest] = process.argv.slice(2);
  const usage = "usage: npm run grid -- GRID.json [--out DIR] [--concurrency N] [--shard I/N | --collect]";
  if (!file || file.startsWith("--")) throw new Error(usage);
  const args = parseArgs(
    rest,
    {
      out: { type: "string", default: "" },
      concurrency: { type: "int", default: 2 },
      shard: { type: "string", default: "" },
      collect: { type: "bool", default: false },
    },
    usage,
  );
  if (args.shard !== "" && args.collect)
    throw new Error(
      `--shard and --collect: give one (each shard runs with --shard I/N; --collect merges them afterwards)\n${usage}`,
    );
  const shard: ShardSpec | null = args.shard !== "" ? parseShardSpec(args.shard, "--shard") : null;
  let spec: GridSpec;
  try {
    spec = JSON.parse(fs.readFileSync(file, "utf8")) as GridSpec;
  } catch (err) {
    throw new Error(`${file}: cannot read the grid: ${(err as Error).message}`);
  }
  const concurrency = positiveInt(args.concurrency, "--concurrency");
  let cells;
  try {
    cells = expandGrid(spec, { baseDir: path.dirname(path.resolve(file)) });
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  const root = projectRoot();
  if (!args.out && (!/^[\w.-]+$/.test(spec.name) || /^\.+$/.test(spec.name))) {
    throw new Error(
      `${file}: name ${JSON.stringify(spec.name)} is not a plain folder name for reports/NAME; rename the grid or give --out DIR`,
    );
  }
  const outDir = path.resolve((args.out as string) || path.join(root, "reports", spec.name));
  const command = `npm run grid -- ${process.argv.slice(2).join(" ")}`;
  if (args.collect) return collect(file, spec, cells, outDir, command);
  await fetchHubBackbones(cells.map((c) => c.backbone));
  checkCells(cells, { source: file, root, optionSource: (cell, key) => gridOptionSource(spec, cell, key) });
  const allCells = cells.length;
  const runDir = shard ? shardDir(outDir, shard) : outDir;
  if (shard) cells = cellsOfShard(cells, shard);
  await initBackend();
  const resultsPath = shard ? shardResultsPath(outDir, shard) : path.join(outDir, "results.jsonl");
  console.error(
    `grid ${spec.name}: ${shard ? `shard ${args.shard}: ${cells.length} of ${allCells}` : cells.length} cells -> ${resultsPath}`,
  );
  const { records, rows, failures } = await runGridReport({
    cells,
    outDir: runDir,
    root,
    concurrency,
    title: `grid ${spec.name}${shard ? ` (shard ${args.shard})` : ""}`,
    command,
  });
  if (records.length > 0) console.log(formatSummaryTable(rows));
  console.log(`\n${records.length}/${cells.length} cells recorded in ${runDir}`);
  if (failures !== null) {
    console.error(failures);
    process.exitCode = 1;
  }
}

/** --collect: merges every DIR/shards/I-of-N/results.jsonl into DIR/results.jsonl, writes the report, exits 1 when cells are missing. */
function collect(
  file: string,
  spec: GridSpec,
  cells: ReturnType<typeof expandGrid>,
  outDir: string,
  command: string,
): void {
  const collection = collectShards(outDir, { cells });
  if (collection.files.length === 0) {
    throw new Error(
      `${file}: --collect: no shard results under ${path.join(outDir, "shards")} (run each shard with --out ${outDir} --shard I/N first)`,
    );
  }
  const resultsPath = path.join(outDir, "results.jsonl");
  const { appended, alreadyPresent } = appendCollected(resultsPath, collection);
  console.error(
    `grid ${spec.name}: collected ${collection.records.length} records from ${collection.files.length} shard file(s) into ${resultsPath} ` +
      `(${appended} new, ${alreadyPresent} already there${collection.duplicates > 0 ? `, ${collection.duplicates} identical duplicates dropped` : ""})`,
  );
  if (collection.unexpected.length > 0)
    console.error(
      `${collection.unexpected.length} shard record(s) are not cells of ${file} (kept in results.jsonl, left out of the report; did a task file change since the shards ran? changed data gives new cell ids)`,
    );
  const { records, rows } = writeGridReport({ cells, outDir, title: `grid ${spec.name}`, command });
  if (records.length > 0) console.log(formatSummaryTable(rows));
  console.log(`\n${records.length}/${cells.length} cells recorded in ${outDir}`);
  if (collection.missing.length > 0) {
    console.error(`${file}: --collect: ${describeMissing(collection.missing)}`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
