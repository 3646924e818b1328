/**
 * npm run bench [-- --quick] [--backbone kit-small] [--tasks a,b] [--methods a,b] [--seeds 0,1,2] [--steps N]
 *               [--concurrency 2] [--out reports/DIR] [--task TASK.json | --task '{"name": ..., "file": ...}']
 *
 * The main job: zero-shot (plain and calibrated), head-only (linear probe), the recommended prompt method
 * (RECOMMENDED_PROMPT_METHOD, from notebook 10's study) and full fine-tuning on the shipped tasks with a shipped
 * backbone, several seeds, each cell in a worker process (2 at a time by default). Results are appended to
 * <out>/results.jsonl as cells finish; running the same command with --out pointing at an unfinished run resumes
 * it. Writes summary.csv and a self-contained report.html, prints the summary table, and points reports/latest at
 * the run.
 *
 * --task adds the user's own task (a file task object, lib/tasks/file-task.ts), given as a JSON file holding the
 * object (its `file` relative to that JSON file's folder) or as the JSON text itself (`file` relative to the
 * directory the command was started in); with --task and no --tasks, the bench runs that task alone.
 */
import { envForConcurrency, kernelSetLabel } from "../lib/backend/kernels/kernel-set";
import * as fs from "node:fs";
import * as path from "node:path";
import { initBackend } from "../lib/backend/backend";
import { checkCells } from "../lib/experiment/check-cells";
import { expandGrid, GridSpec } from "../lib/experiment/grid";
import { formatSummaryTable } from "../lib/experiment/summary";
import { methodGaps } from "../lib/experiment/gaps";
import { floorVerdicts } from "../lib/experiment/floors";
import { CELL_DEFAULTS } from "../lib/experiment/cell-options";
import {
  RECOMMENDED_FIXED,
  RECOMMENDED_PROMPT_METHOD,
  recommendedMethodOptions,
} from "../lib/experiment/recommended-budgets";
import { fetchHubBackbones, projectRoot } from "../lib/experiment/project-paths";
import { PROMPT_MODEL_METHODS } from "../lib/prompt-model/prompt-model";
import { fail, isPlainObject, positiveInt } from "../lib/io/validate";
import { parseArgs } from "./args";
import { runGridReport } from "./run-grid-report";

const USAGE =
  "usage: npm run bench [-- --quick] [--backbone NAME] [--tasks a,b] [--task TASK.json|JSON] [--methods a,b] [--seeds 0,1,2] [--steps N] [--concurrency N] [--out DIR]";

const list = (s: string) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x !== "");

async function main(): Promise<void> {
  const args = parseArgs(
    process.argv.slice(2),
    {
      quick: { type: "bool", default: false },
      backbone: { type: "string", default: "" },
      tasks: { type: "string", default: "" },
      task: { type: "string", default: "" },
      methods: {
        type: "string",
        default: `zero-shot,calibrated-zero-shot,head-only,${RECOMMENDED_PROMPT_METHOD},full-finetune`,
      },
      seeds: { type: "string", default: "" },
      steps: { type: "int" },
      concurrency: { type: "int", default: 2 },
      out: { type: "string", default: "" },
    },
    USAGE,
  );
  const quick = args.quick === true;
  const root = projectRoot();
  const backbone = (args.backbone as string) || (quick ? "kit-nano" : "kit-small");
  const steps = args.steps === undefined ? 30 : positiveInt(args.steps, "--steps");
  const methods = flagList(args.methods as string, "--methods");
  const concurrency = positiveInt(args.concurrency, "--concurrency");
  const fileTask = args.task !== "" ? taskFlag(args.task as string) : null;
  const spec: GridSpec = {
    name: quick ? "bench-quick" : "bench",
    methods,
    tasks: [
      ...(args.tasks !== ""
        ? flagList(args.tasks as string, "--tasks")
        : fileTask !== null
          ? []
          : quick
            ? ["yelp", "wordnet-pairs"]
            : ["imdb", "amazon", "yelp", "spam", "wordnet-pairs"]),
      ...(fileTask !== null ? [fileTask.task] : []),
    ],
    backbones: [backbone],
    seeds: args.seeds !== "" ? seedList(args.seeds as string) : quick ? [0] : [0, 1, 2],
    ...benchBudgets(quick, args.steps === undefined ? null : steps, methods),
  };
  let cells;
  try {
    cells = expandGrid(spec, { baseDir: fileTask?.baseDir ?? userDir() });
  } catch (err) {
    if (fileTask === null) throw err;
    throw new Error(`--task ${fileTask.source}: ${(err as Error).message.replace(/^tasks\[\d+\]/, "task")}`);
  }
  const flags: Record<string, string> = { steps: "--steps" };
  await fetchHubBackbones([backbone]);
  checkCells(cells, {
    source: "npm run bench",
    root,
    optionSource: (_cell, key) => flags[key] ?? `the bench's fixed ${key}`,
  });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
  const outDir = path.resolve(root, (args.out as string) || path.join("reports", `${spec.name}-${stamp}`));
  const resultsPath = path.join(outDir, "results.jsonl");
  const info = await initBackend();
  const command = process.argv.length > 2 ? `npm run bench -- ${process.argv.slice(2).join(" ")}` : "npm run bench";
  console.error(
    `bench: ${cells.length} cells (${spec.methods.length} methods x ${spec.tasks.length} tasks x ${spec.seeds.length} seeds) on ${backbone}, backend ${info.name} ${info.version} + ${kernelSetLabel()} kernels in this process, ${concurrency} worker(s) with ${envForConcurrency(concurrency)["KIT_THREADS"]} thread(s) each`,
  );
  console.error(`results: ${resultsPath}`);

  const notes = [
    `Backbone ${backbone}; ${spec.seeds.length} seed(s); training steps ${stepsNote(spec)}; test metrics on held-out test splits fixed across seeds.`,
  ];
  const { records, rows, failures } = await runGridReport({
    cells,
    outDir,
    root,
    concurrency,
    title: `softprompt-kit bench: ${backbone}`,
    command,
    notes,
    logPrefix: "[bench] ",
  });
  const has = (m: string) => records.some((r) => r.method === m);
  const gaps = has("full-finetune")
    ? PROMPT_MODEL_METHODS.filter(has).map((m) => ({
        method: m,
        gaps: methodGaps(records, { a: m, b: "full-finetune", metric: "accuracy" }),
      }))
    : [];
  const linkNote = pointLatestAt(path.join(root, "reports", "latest"), outDir);
  if (records.length > 0) console.log(formatSummaryTable(rows));
  for (const { method, gaps: byTask } of gaps) {
    console.log(`\n${method} minus full-finetune, test accuracy over matched seeds (mean [95% CI]):`);
    for (const g of byTask)
      console.log(`  ${g.task.padEnd(14)} ${fmt(g.mean)} [${fmt(g.ciLow)}, ${fmt(g.ciHigh)}]  n=${g.n}`);
  }
  const verdicts = floorVerdicts(rows, PROMPT_MODEL_METHODS);
  if (verdicts.length > 0) {
    console.log("\ndoes the prompt method clear the floors? (lower end of its 95% CI above the best floor's mean)");
    for (const v of verdicts)
      console.log(
        `  ${v.task.padEnd(14)} ${v.method.padEnd(19)} ${fmtAcc(v.row.accuracy.mean)} [${fmtAcc(v.row.accuracy.ciLow)}, ${fmtAcc(v.row.accuracy.ciHigh)}] vs ${v.floorMethod} ${fmtAcc(v.floor)}: ${v.clears ? "yes" : "no"}`,
      );
  }
  console.log(`\n${records.length}/${cells.length} cells recorded in ${outDir}`);
  console.log(`report: ${path.join(outDir, "report.html")}`);
  if (linkNote !== null) console.error(linkNote);
  if (failures !== null) {
    console.error(failures);
    process.exitCode = 1;
  }
}

/**
 * The bench's budgets: the study's recommendation for the prompt methods (lib/experiment/recommended-budgets.ts),
 * the defaults for the others; --steps N gives every method N steps. Quick mode is a plumbing check.
 */
function benchBudgets(
  quick: boolean,
  steps: number | null,
  methods: readonly string[],
): Pick<GridSpec, "fixed" | "methodOptions"> {
  if (quick) return { fixed: { steps: steps ?? 30, evalEvery: 15, maxDev: 64, maxTest: 128 } };
  const methodOptions = recommendedMethodOptions(methods, { fixedSteps: steps !== null });
  return {
    fixed: { ...(steps === null ? {} : { steps }), ...RECOMMENDED_FIXED },
    ...(methodOptions !== undefined ? { methodOptions } : {}),
  };
}

/** "200", or per method when the prompt methods have their own budgets ("prompt-tuning 1000 (lr 0.3), others 200"). */
function stepsNote(spec: GridSpec): string {
  const fixed = spec.fixed?.["steps"];
  const own = Object.entries(spec.methodOptions ?? {}).map(
    ([m, axes]) => `${m} ${String(axes["steps"]?.[0] ?? fixed)} (lr ${String(axes["lr"]?.[0])})`,
  );
  const others = `${String(fixed ?? CELL_DEFAULTS.steps)}${spec.fixed?.["patience"] ? ", early stopping on dev" : ""}`;
  return own.length === 0 ? others : `${own.join(", ")}, others ${others}`;
}

/** A comma-separated flag value without empty or repeated entries; refuses anything else naming the flag. */
function flagList(text: string, flag: string): string[] {
  const parts = list(text);
  if (parts.length === 0 || new Set(parts).size !== parts.length)
    fail(flag, "a comma-separated list of distinct names", text);
  return parts;
}

/** The directory the user started the command in (npm run moves to the package folder; INIT_CWD keeps it). */
function userDir(): string {
  return process.env["INIT_CWD"] || process.cwd();
}

/** --task: a JSON file holding a file task object, or the object as JSON text; with the folder its `file` is relative to. */
function taskFlag(text: string): { task: Record<string, unknown>; baseDir: string; source: string } {
  const inline = text.trim().startsWith("{");
  const file = inline ? null : path.resolve(userDir(), text);
  let raw: string;
  if (file === null) raw = text;
  else {
    try {
      raw = fs.readFileSync(file, "utf8");
    } catch (err) {
      throw new Error(
        `--task ${text}: cannot read ${file}: ${(err as Error).message} (expected a JSON file with a task object, or the object itself as JSON text)`,
      );
    }
    if (/\.(csv|tsv|tab|jsonl|ndjson)$/i.test(file)) {
      throw new Error(
        `--task ${text}: a data file needs its columns named: give a JSON task object instead, e.g. --task '{"name": "mine", "file": ${JSON.stringify(text)}, "textColumn": "text", "labelColumn": "label"}'`,
      );
    }
  }
  let task: unknown;
  try {
    task = JSON.parse(raw);
  } catch (err) {
    throw new Error(`--task ${inline ? "(JSON text)" : text}: not valid JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(task))
    fail(
      `--task ${inline ? "(JSON text)" : text}`,
      "a file task object { name, file, textColumn, labelColumn, ... }",
      task,
    );
  return { task, baseDir: file === null ? userDir() : path.dirname(file), source: inline ? "(JSON text)" : text };
}

/** "--seeds 0,1,2" as integers; refuses anything else naming the flag. */
function seedList(text: string): number[] {
  const parts = list(text);
  if (parts.length === 0 || parts.some((p) => !/^-?\d+$/.test(p)) || new Set(parts).size !== parts.length) {
    fail("--seeds", "a comma-separated list of distinct integers", text);
  }
  return parts.map(Number);
}

/**
 * Points reports/latest at the run (creating reports/ in a fresh clone). Never fails the bench, whose results are
 * already written: returns a note when the link cannot be made (e.g. reports/latest is a real folder), else null.
 */
function pointLatestAt(latest: string, outDir: string): string | null {
  try {
    fs.mkdirSync(path.dirname(latest), { recursive: true });
    const existing = fs.lstatSync(latest, { throwIfNoEntry: false });
    if (existing !== undefined && !existing.isSymbolicLink())
      return `note: ${latest} exists and is not a link; left as it is (the run is in ${outDir})`;
    if (existing !== undefined) fs.unlinkSync(latest);
    fs.symlinkSync(path.relative(path.dirname(latest), outDir), latest);
    return null;
  } catch (err) {
    return `note: could not point ${latest} at ${outDir}: ${(err as Error).message}`;
  }
}

function fmt(x: number): string {
  return (x >= 0 ? "+" : "") + x.toFixed(3);
}

function fmtAcc(x: number): string {
  return x.toFixed(3);
}

main().catch((err) => {
  // Bad input is reported by its message alone; KIT_DEBUG=1 adds the stack for bug reports.
  console.error(err instanceof Error ? (process.env["KIT_DEBUG"] ? (err.stack ?? err.message) : err.message) : err);
  process.exit(1);
});
