/**
 * node build/scripts/ki-experiment.js [--student kit-small] [--teacher models/kit-nano] [--steps 1500] [--seeds 0,1]
 *     [--ki-alpha 0.5] [--ki-end-step N] [--ki-temperature 1] [--ki-top-k 0] [--eval-every 100] [--eval-tokens 32768]
 *     [--batch 8] [--length 128] [--lr 0.002] [--warmup 100] [--weight-decay 0.01] [--run-root runs/pretrain/ki-exp]
 *     [--out results/ki/NAME.json] [--pt-check [--pt-task yelp] [--pt-steps 200]] [--dry-run]
 *
 * The knowledge-inheritance experiment (lib/pretrain/ki-experiment.ts): for each seed, pre-trains the student size
 * from scratch and with KI from the teacher, with identical training settings (same initial weights and data
 * order), by running the pre-training CLI (build/scripts/pretrain.js) once per run with its own --run-dir. It is
 * resumable: killed at any point (Ctrl-C, or SIGTERM, which is passed on to the running pre-training process so
 * it checkpoints), the same command continues where it stopped and skips finished runs. Then it writes one small
 * JSON: the options and commands, both validation curves per seed, final validation losses and perplexities,
 * the compute saved per seed and on average, the teacher's name and fingerprint, training seconds per run, the
 * backend, and the student checkpoints' paths (under runs/, not committed).
 *
 * --pt-check also prompt-tunes and fully fine-tunes both students on --pt-task (runCell, backbone = the student's
 * checkpoint folder) and stores the test accuracies; finished cells are kept in <experiment folder>/pt-check.jsonl.
 * --dry-run prints the plan (run folders, commands, status) and exits.
 */
import { spawn, ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { backendLabel, initBackend } from "../lib/backend/backend";
import { kernelSetLabel } from "../lib/backend/kernels/kernel-set";
import { loadCheckpoint } from "../lib/backbone/checkpoint";
import { sizeConfig } from "../lib/backbone/sizes";
import { runCell, projectRoot } from "../lib/experiment/run-cell";
import { describeGridEvent, runGrid } from "../lib/experiment/runner";
import { readRecords } from "../lib/experiment/record";
import { writeJsonAtomic } from "../lib/io/atomic-write";
import {
  KI_RESULT_KIND,
  KI_RESULT_VERSION,
  KiExperimentResult,
  KiSeedResult,
  PlannedRun,
  PtCheck,
  RunSummary,
  defaultResultPath,
  modelInfo,
  parseSeeds,
  planKiExperiment,
  ptCheckCells,
  ptCheckResult,
  readRunSummary,
  resolveKiExperimentOptions,
  runStatus,
  seedSaving,
  shellQuote,
  summarizeSavings,
  teacherOverhead,
} from "../lib/pretrain/ki-experiment";
import { formatDuration } from "../lib/io/format";
import { nonNegativeInt } from "../lib/io/validate";
import { parseArgs } from "./args";

const USAGE =
  "usage: node build/scripts/ki-experiment.js [--student kit-small] [--teacher models/kit-nano] [--steps 1500] [--seeds 0,1] " +
  "[--ki-alpha 0.5] [--ki-end-step N] [--ki-temperature 1] [--ki-top-k 0] [--eval-every 100] [--eval-tokens 32768] " +
  "[--batch 8] [--length 128] [--lr 0.002] [--warmup 100] [--weight-decay 0.01] [--run-root DIR] [--out FILE.json] " +
  "[--pt-check [--pt-task yelp] [--pt-steps 200]] [--dry-run]";

/** The running pre-training process, to pass signals on to. */
let child: ChildProcess | null = null;
let interrupted = false;

async function main(): Promise<void> {
  const args = parseArgs(
    process.argv.slice(2),
    {
      student: { type: "string", default: "kit-small" },
      teacher: { type: "string", default: "models/kit-nano" },
      steps: { type: "int", default: 1500 },
      seeds: { type: "string", default: "0" },
      batch: { type: "int", default: 8 },
      length: { type: "int", default: 128 },
      lr: { type: "float", default: 2e-3 },
      warmup: { type: "int", default: 100 },
      "weight-decay": { type: "float", default: 0.01 },
      "eval-every": { type: "int", default: 100 },
      "eval-tokens": { type: "int", default: 32768 },
      "ki-alpha": { type: "float", default: 0.5 },
      "ki-end-step": { type: "int" },
      "ki-temperature": { type: "float", default: 1 },
      "ki-top-k": { type: "int", default: 0 },
      "run-root": { type: "string", default: path.join("runs", "pretrain", "ki-exp") },
      out: { type: "string", default: "" },
      "pt-check": { type: "bool", default: false },
      "pt-task": { type: "string", default: "yelp" },
      "pt-steps": { type: "int", default: 200 },
      "dry-run": { type: "bool", default: false },
    },
    USAGE,
  );
  const topK = nonNegativeInt(args["ki-top-k"], "--ki-top-k (0 = full vocabulary)");
  const o = resolveKiExperimentOptions({
    student: args.student as string,
    teacher: args.teacher as string,
    steps: args.steps as number,
    seeds: parseSeeds(args.seeds as string),
    batch: args.batch as number,
    length: args.length as number,
    lr: args.lr as number,
    warmup: args.warmup as number,
    weightDecay: args["weight-decay"] as number,
    evalEvery: args["eval-every"] as number,
    evalTokens: args["eval-tokens"] as number,
    kiAlpha: args["ki-alpha"] as number,
    kiEndStep: (args["ki-end-step"] as number | undefined) ?? null,
    kiTemperature: args["ki-temperature"] as number,
    kiTopK: topK === 0 ? null : topK,
    runRoot: args["run-root"] as string,
    ptCheck: args["pt-check"] as boolean,
    ptTask: args["pt-task"] as string,
    ptSteps: args["pt-steps"] as number,
  });
  const command = ["node", path.join("build", "scripts", "ki-experiment.js"), ...process.argv.slice(2)]
    .map(shellQuote)
    .join(" ");
  const info = await initBackend();
  const backend = `${backendLabel(info)} + ${kernelSetLabel()} kernels`;

  // The teacher's identity; the pre-training processes load it again (and check tokenizer and sizes).
  const teacher = loadCheckpoint(o.teacher);
  const teacherInfo = { ...modelInfo(teacher.name, teacher.config), dir: o.teacher, fingerprint: teacher.fingerprint };
  teacher.model.dispose();
  const studentConfig = sizeConfig(o.student);
  if (o.length > teacher.config.maxLen)
    throw new Error(`${o.teacher}: --length ${o.length} exceeds the teacher's maximum length ${teacher.config.maxLen}`);
  const plan = planKiExperiment(o, teacher.name);
  const outPath = (args.out as string) || defaultResultPath(o, teacher.name);
  const overhead = teacherOverhead(teacher.config, studentConfig, o.length);

  console.error(
    `knowledge-inheritance experiment: ${o.student} from scratch vs with KI from ${teacher.name} (${teacher.fingerprint})`,
  );
  console.error(
    `  ${o.steps} steps of ${o.batch} x ${o.length} tokens, seeds ${o.seeds.join(", ")}; a_t ${o.kiAlpha} -> 0 at step ${o.kiEndStep}; runs in ${plan.experimentDir}`,
  );
  console.error(
    `  teacher forward = ${(overhead * 100).toFixed(1)}% of a student training step (FLOP estimate); result -> ${outPath}`,
  );
  for (const s of plan.seeds) {
    for (const run of [s.scratch, s.ki])
      console.error(`  seed ${s.seed} ${run.kind.padEnd(7)} [${runStatus(run, o.steps)}] ${run.command}`);
  }
  if (args["dry-run"]) return;

  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  for (const s of plan.seeds) {
    for (const run of [s.scratch, s.ki]) {
      if (runStatus(run, o.steps) === "done") {
        console.error(`seed ${s.seed} ${run.kind}: finished earlier (${run.checkpointDir})`);
        continue;
      }
      console.error(`\n=== seed ${s.seed} ${run.kind}: ${run.command}`);
      const code = await runPretrain(run);
      if (interrupted) {
        console.error(`stopped during seed ${s.seed} ${run.kind}; run the same command to resume`);
        process.exitCode = 130;
        return;
      }
      if (code !== 0)
        throw new Error(`seed ${s.seed} ${run.kind}: the pre-training process exited with ${code}: ${run.command}`);
      if (runStatus(run, o.steps) !== "done")
        throw new Error(`seed ${s.seed} ${run.kind}: the pre-training process ended without finishing ${run.runDir}`);
    }
  }

  const summaryOf = (run: PlannedRun): RunSummary => {
    const ckpt = loadCheckpoint(run.checkpointDir);
    const fp = ckpt.fingerprint;
    ckpt.model.dispose();
    return readRunSummary(run, o, fp);
  };
  const seeds: KiSeedResult[] = plan.seeds.map((s) => {
    const scratch = summaryOf(s.scratch);
    const ki = summaryOf(s.ki);
    return { seed: s.seed, scratch, ki, saving: seedSaving(scratch.curve, ki.curve, overhead, o.kiEndStep) };
  });

  let ptCheck: PtCheck | null = null;
  if (o.ptCheck) ptCheck = await runPtCheck(plan, seeds);

  const result: KiExperimentResult = {
    kind: KI_RESULT_KIND,
    version: KI_RESULT_VERSION,
    createdAt: new Date().toISOString(),
    command,
    options: o,
    experimentDir: plan.experimentDir,
    student: modelInfo(o.student, studentConfig),
    teacher: teacherInfo,
    teacherOverhead: overhead,
    backend,
    seeds,
    summary: summarizeSavings(seeds),
    ptCheck,
  };
  fs.mkdirSync(path.dirname(path.resolve(outPath)), { recursive: true });
  writeJsonAtomic(outPath, result);
  printSummary(result);
  console.error(`wrote ${outPath}`);
}

function onSignal(sig: NodeJS.Signals): void {
  if (interrupted) return;
  interrupted = true;
  console.error(`${sig} received: stopping the pre-training run at its next step (it checkpoints) ...`);
  if (child && child.exitCode === null) child.kill(sig);
}

/** Runs build/scripts/pretrain.js with the run's arguments, output passed through; resolves with its exit code. */
function runPretrain(run: PlannedRun): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(__dirname, "pretrain.js"), ...run.args], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    child = p;
    p.on("error", (err) => reject(new Error(`cannot start ${run.command}: ${err.message}`)));
    p.on("exit", (code, signal) => {
      child = null;
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

/** Prompt tuning + full fine-tuning on both students per seed (resumable grid), as a PtCheck. */
async function runPtCheck(plan: ReturnType<typeof planKiExperiment>, seeds: readonly KiSeedResult[]): Promise<PtCheck> {
  const root = projectRoot();
  const cells = ptCheckCells(plan, root);
  const resultsPath = path.join(plan.experimentDir, "pt-check.jsonl");
  const fingerprints = new Map<string, string>();
  for (const s of seeds) {
    for (const run of [s.scratch, s.ki]) {
      const cell = cells.find((c) => c.seed === s.seed && c.student === run.kind)!;
      fingerprints.set(cell.cell.backbone, run.fingerprint);
    }
  }
  // Refuse records made on other weights before spending any time.
  if (fs.existsSync(resultsPath)) {
    const done = readRecords(resultsPath, { allowMissing: true });
    for (const r of done) {
      const c = cells.find((x) => x.cell.cellId === r.cellId);
      const want = c ? fingerprints.get(c.cell.backbone) : undefined;
      if (want !== undefined && r.backbone.fingerprint !== want) {
        throw new Error(
          `${resultsPath}: cell ${r.cellId} was run on weights ${r.backbone.fingerprint}, ${c!.cell.backbone} now has ${want}; move the file away to rerun the check`,
        );
      }
    }
  }
  console.error(
    `\n=== prompt-tuning check: ${plan.options.ptMethods.join(", ")} on ${plan.options.ptTask}, ${plan.options.ptSteps} steps, ${cells.length} cells -> ${resultsPath}`,
  );
  const abort = new AbortController();
  const stopper = setInterval(() => {
    if (interrupted) abort.abort();
  }, 500);
  try {
    await runGrid(
      cells.map((c) => c.cell),
      {
        resultsPath,
        runCell: (cell) => runCell(cell),
        signal: abort.signal,
        onProgress: (ev) => console.error(describeGridEvent(ev)),
      },
    );
  } finally {
    clearInterval(stopper);
  }
  if (interrupted) throw new Error("prompt-tuning check interrupted; run the same command to resume");
  return ptCheckResult(cells, readRecords(resultsPath), fingerprints, plan.options);
}

function pct(x: number | null): string {
  return x === null ? "not reached" : `${(100 * x).toFixed(1)}%`;
}

function printSummary(r: KiExperimentResult): void {
  console.log(
    `\n${r.student.name}: from scratch vs knowledge inheritance from ${r.teacher.name}, ${r.options.steps} steps`,
  );
  console.log(
    "seed | scratch val loss (ppl) | KI val loss (ppl) | target | KI steps to target | saved | saved incl. teacher | saved (wall) | train time scratch / KI",
  );
  for (const s of r.seeds) {
    const v = s.saving;
    console.log(
      `${s.seed} | ${s.scratch.finalValLoss.toFixed(4)} (${s.scratch.finalValPerplexity.toFixed(2)}) | ${s.ki.finalValLoss.toFixed(4)} (${s.ki.finalValPerplexity.toFixed(2)}) | ` +
        `${v.target.toFixed(4)} | ${v.kiSteps === null ? "-" : v.kiSteps.toFixed(0)} / ${v.scratchSteps} | ${pct(v.saved)} | ${pct(v.savedWithTeacher)} | ${pct(v.savedWallClock)} | ` +
        `${formatDuration(s.scratch.trainSeconds)} / ${formatDuration(s.ki.trainSeconds)}`,
    );
  }
  const m = r.summary;
  console.log(
    `mean over ${m.seeds} seed(s) (${m.reached} reached the target): saved ${pct(m.meanSaved)}, incl. teacher ${pct(m.meanSavedWithTeacher)}, wall clock ${pct(m.meanSavedWallClock)}`,
  );
  if (r.ptCheck) {
    for (const p of r.ptCheck.summary) {
      console.log(
        `${p.method} on ${r.ptCheck.task}: scratch ${p.scratchAccuracy.toFixed(3)}, KI ${p.kiAccuracy.toFixed(3)}, KI - scratch ${p.kiMinusScratch >= 0 ? "+" : ""}${p.kiMinusScratch.toFixed(3)} (${p.seeds} seed(s))`,
      );
    }
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
