/**
 * npm run bench [-- --quick] [--backbone kit-small] [--tasks a,b] [--methods a,b] [--seeds 0,1,2] [--steps N]
 *               [--concurrency 2] [--out reports/DIR]
 *
 * The main job: zero-shot, head-only (linear probe), prompt tuning and full fine-tuning on the shipped tasks with a
 * shipped backbone, several seeds, each cell in a worker process (2 at a time by default). Results are appended to
 * <out>/results.jsonl as cells finish; running the same command with --out pointing at an unfinished run resumes
 * it. Writes summary.csv and a self-contained report.html, prints the summary table, and points reports/latest at
 * the run.
 */
import { envForConcurrency, kernelSetLabel } from "../lib/backend/kernels/kernel-set";
import * as fs from "node:fs";
import * as path from "node:path";
import { initBackend } from "../lib/backend/backend";
import { expandGrid, GridSpec } from "../lib/experiment/grid";
import { formatSummaryTable } from "../lib/experiment/summary";
import { methodGaps } from "../lib/experiment/gaps";
import { backboneDir, projectRoot } from "../lib/experiment/run-cell";
import { parseArgs } from "./args";
import { runGridReport } from "./run-grid-report";

const USAGE =
  "usage: npm run bench [-- --quick] [--backbone NAME] [--tasks a,b] [--methods a,b] [--seeds 0,1,2] [--steps N] [--concurrency N] [--out DIR]";

const list = (s: string) => s.split(",").map((x) => x.trim()).filter((x) => x !== "");

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), {
    quick: { type: "bool", default: false },
    backbone: { type: "string", default: "" },
    tasks: { type: "string", default: "" },
    methods: { type: "string", default: "zero-shot,head-only,prompt-tuning,full-finetune" },
    seeds: { type: "string", default: "" },
    steps: { type: "int", default: 0 },
    concurrency: { type: "int", default: 2 },
    out: { type: "string", default: "" },
  }, USAGE);
  const quick = args.quick === true;
  const root = projectRoot();
  const backbone = (args.backbone as string) || (quick ? "kit-nano" : "kit-small");
  if (!fs.existsSync(path.join(backboneDir(backbone, root), "model.safetensors"))) {
    throw new Error(`backbone '${backbone}' not found at ${backboneDir(backbone, root)} (shipped: ${fs.readdirSync(path.join(root, "models")).join(", ")})`);
  }
  const spec: GridSpec = {
    name: quick ? "bench-quick" : "bench",
    methods: list(args.methods as string),
    tasks: (args.tasks as string) ? list(args.tasks as string) : quick ? ["yelp", "wordnet-pairs"] : ["imdb", "amazon", "yelp", "spam", "wordnet-pairs"],
    backbones: [backbone],
    seeds: ((args.seeds as string) ? list(args.seeds as string) : quick ? ["0"] : ["0", "1", "2"]).map(Number),
    fixed: quick
      ? { steps: (args.steps as number) || 30, evalEvery: 15, maxDev: 64, maxTest: 128 }
      : { steps: (args.steps as number) || 200, evalEvery: 50, maxDev: 200 },
  };
  const cells = expandGrid(spec);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
  const outDir = path.resolve(root, (args.out as string) || path.join("reports", `${spec.name}-${stamp}`));
  fs.mkdirSync(outDir, { recursive: true });
  const resultsPath = path.join(outDir, "results.jsonl");
  const info = await initBackend();
  const command = process.argv.length > 2 ? `npm run bench -- ${process.argv.slice(2).join(" ")}` : "npm run bench";
  console.error(`bench: ${cells.length} cells (${spec.methods.length} methods x ${spec.tasks.length} tasks x ${spec.seeds.length} seeds) on ${backbone}, backend ${info.name} ${info.version} + ${kernelSetLabel()} kernels in this process, ${args.concurrency} worker(s) with ${envForConcurrency(args.concurrency as number)["KIT_THREADS"]} thread(s) each`);
  console.error(`results: ${resultsPath}`);

  const notes = [
    `Backbone ${backbone}; ${spec.seeds.length} seed(s); training steps ${String(spec.fixed?.["steps"])}; test metrics on held-out test splits fixed across seeds.`,
  ];
  const { result, records, rows } = await runGridReport({
    cells, outDir, root, concurrency: args.concurrency as number, title: `softprompt-kit bench: ${backbone}`, command, notes, logPrefix: "[bench] ",
  });
  const gaps = spec.methods.includes("prompt-tuning") && spec.methods.includes("full-finetune")
    ? methodGaps(records, { a: "prompt-tuning", b: "full-finetune", metric: "accuracy" })
    : [];
  const latest = path.join(root, "reports", "latest");
  fs.rmSync(latest, { force: true, recursive: false });
  fs.symlinkSync(path.relative(path.dirname(latest), outDir), latest);
  console.log(formatSummaryTable(rows));
  if (gaps.length > 0) {
    console.log("\nprompt-tuning minus full-finetune, test accuracy over matched seeds (mean [95% CI]):");
    for (const g of gaps) console.log(`  ${g.task.padEnd(14)} ${fmt(g.mean)} [${fmt(g.ciLow)}, ${fmt(g.ciHigh)}]  n=${g.n}`);
  }
  console.log(`\n${records.length}/${cells.length} cells recorded (${result.failed.length} failed) in ${outDir}`);
  console.log(`report: ${path.join(outDir, "report.html")}`);
  if (result.failed.length > 0) process.exitCode = 1;
}

function fmt(x: number): string {
  return (x >= 0 ? "+" : "") + x.toFixed(3);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack ?? err.message : err);
  process.exit(1);
});
