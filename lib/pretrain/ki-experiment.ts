/**
 * The knowledge-inheritance experiment (Qin et al. 2021): per seed, the same student size is pre-trained twice
 * on the same data order (same seed, batch, length, learning-rate schedule and steps, hence the same initial
 * weights and the same windows at every step), once from scratch and once with KI from a smaller teacher; the
 * two validation curves give the compute KI saves (compute-saved.ts).
 *
 * This file is the experiment's bookkeeping, free of training code: the options, where each run lives
 * (run folders under runs/, so the pre-training CLI resumes them), the exact pre-training command of each run,
 * reading a finished run back, the savings per seed and their mean, the optional prompt-tuning check, and the
 * result file (writing and validating). scripts/ki-experiment.ts runs the plan; notebook 06 reads the results.
 *
 * Layout (R = runRoot, E = the experiment folder named from every training and evaluation setting):
 *   R/E/seed<S>/scratch/{ckpt/, model/}                                  from scratch
 *   R/E/seed<S>/ki-<teacher>-a<alpha>-end<N>-T<temp>-<full|topK>/{...}   with KI
 *   R/E/pt-check.jsonl                                                   prompt-tuning check records
 * Each run folder is a pretrain --run-dir (ckpt/ is its resumable state); model/ is the checkpoint the CLI
 * writes when the run finishes (its --out).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { TransformerConfig, nonEmbeddingParams, totalParams } from "../backbone/config";
import { CHECKPOINT_FILES } from "../backbone/checkpoint";
import { sizeConfig } from "../backbone/sizes";
import { makeCell, type Cell } from "../experiment/grid";
import type { RunRecord } from "../experiment/record";
import { readSafetensorsHeader } from "../io/safetensors";
import { ComputeSaved, CurvePoint, computeSaved } from "./compute-saved";
import { resolveKiOptions } from "./knowledge-inheritance";

// ---------------------------------------------------------------------------------------------------------------
// Options

export interface KiExperimentOptions {
  /** student size, a name from lib/backbone/sizes.ts (e.g. "kit-small"). */
  readonly student: string;
  /** teacher checkpoint folder (e.g. "models/kit-nano"). */
  readonly teacher: string;
  /** optimizer steps of every run. */
  readonly steps: number;
  /** training seeds; each seed gives one scratch run and one KI run. */
  readonly seeds: readonly number[];
  /** sequences per batch. */
  readonly batch: number;
  /** tokens per sequence. */
  readonly length: number;
  /** peak learning rate (warmup, then cosine to 10%). */
  readonly lr: number;
  /** warmup steps. */
  readonly warmup: number;
  readonly weightDecay: number;
  /** evaluate validation loss every N steps (and at the last step). */
  readonly evalEvery: number;
  /** validation tokens per evaluation. */
  readonly evalTokens: number;
  /** a_0, the weight of the distillation term at step 0. */
  readonly kiAlpha: number;
  /** step at which a_t reaches 0 (resolved: floor(steps / 2) when not given). */
  readonly kiEndStep: number;
  /** distillation temperature T. */
  readonly kiTemperature: number;
  /** teacher cut to its top-k tokens; null = full vocabulary. */
  readonly kiTopK: number | null;
  /** folder holding the experiment's run folders. */
  readonly runRoot: string;
  /** also prompt-tune and fully fine-tune both students on a task. */
  readonly ptCheck: boolean;
  /** task of the prompt-tuning check. */
  readonly ptTask: string;
  /** training steps of each prompt-tuning check run. */
  readonly ptSteps: number;
  /** methods of the prompt-tuning check. */
  readonly ptMethods: readonly string[];
}

export type KiExperimentInput = Partial<Omit<KiExperimentOptions, "kiEndStep"> & { kiEndStep: number | null }>;

export const DEFAULT_KI_EXPERIMENT: Readonly<Omit<KiExperimentOptions, "kiEndStep"> & { kiEndStep: number | null }> = Object.freeze({
  student: "kit-small",
  teacher: "models/kit-nano",
  steps: 1500,
  seeds: Object.freeze([0]),
  batch: 8,
  length: 128,
  lr: 2e-3,
  warmup: 100,
  weightDecay: 0.01,
  evalEvery: 100,
  evalTokens: 32768,
  kiAlpha: 0.5,
  kiEndStep: null,
  kiTemperature: 1,
  kiTopK: null,
  runRoot: path.join("runs", "pretrain", "ki-exp"),
  ptCheck: false,
  ptTask: "yelp",
  ptSteps: 200,
  ptMethods: Object.freeze(["prompt-tuning", "full-finetune"]),
});

const WHERE = "ki-experiment";

function positiveInt(field: string, v: unknown): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new Error(`${WHERE}: ${field} must be a positive integer, got ${JSON.stringify(v)}`);
}

function nonNegative(field: string, v: unknown, integer: boolean): void {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v))) {
    throw new Error(`${WHERE}: ${field} must be a non-negative ${integer ? "integer" : "number"}, got ${JSON.stringify(v)}`);
  }
}

function nonEmptyString(field: string, v: unknown): void {
  if (typeof v !== "string" || v.trim() === "") throw new Error(`${WHERE}: ${field} must be a non-empty string, got ${JSON.stringify(v)}`);
}

/** Merges `overrides` onto the defaults and validates; the message names the field and the bad value. */
export function resolveKiExperimentOptions(overrides: KiExperimentInput = {}): KiExperimentOptions {
  const known = new Set(Object.keys(DEFAULT_KI_EXPERIMENT));
  for (const key of Object.keys(overrides)) {
    if (!known.has(key)) throw new Error(`${WHERE}: unknown option '${key}' (known: ${[...known].join(", ")})`);
  }
  const o = { ...DEFAULT_KI_EXPERIMENT, ...overrides };
  nonEmptyString("student", o.student);
  const student = sizeConfig(o.student); // throws naming the known sizes
  nonEmptyString("teacher", o.teacher);
  for (const k of ["steps", "batch", "length", "evalEvery", "evalTokens", "ptSteps"] as const) positiveInt(k, o[k]);
  if (o.length > student.maxLen) throw new Error(`${WHERE}: length ${o.length} exceeds the student's maxLen ${student.maxLen}`);
  if (o.evalTokens < o.batch * o.length) {
    throw new Error(`${WHERE}: evalTokens ${o.evalTokens} is less than one batch (batch ${o.batch} x length ${o.length} = ${o.batch * o.length} tokens)`);
  }
  if (typeof o.lr !== "number" || !(o.lr > 0) || !Number.isFinite(o.lr)) throw new Error(`${WHERE}: lr must be a positive number, got ${JSON.stringify(o.lr)}`);
  nonNegative("warmup", o.warmup, true);
  nonNegative("weightDecay", o.weightDecay, false);
  if (!Array.isArray(o.seeds) || o.seeds.length === 0) throw new Error(`${WHERE}: seeds must be a non-empty array, got ${JSON.stringify(o.seeds)}`);
  o.seeds.forEach((s, i) => nonNegative(`seeds[${i}]`, s, true));
  const dup = o.seeds.find((s, i) => o.seeds.indexOf(s) !== i);
  if (dup !== undefined) throw new Error(`${WHERE}: seed ${dup} is listed twice in seeds ${JSON.stringify(o.seeds)}`);
  const kiEndStep = o.kiEndStep ?? Math.floor(o.steps / 2);
  // The KI settings go through the KI loss's own validation (same messages as the pretrain CLI).
  try {
    resolveKiOptions({ alphaStart: o.kiAlpha, alphaEndStep: kiEndStep, temperature: o.kiTemperature, topK: o.kiTopK });
  } catch (err) {
    throw new Error(`${WHERE}: ${(err as Error).message} (from kiAlpha / kiEndStep / kiTemperature / kiTopK)`);
  }
  if (o.kiTopK !== null && o.kiTopK > student.vocabSize) {
    throw new Error(`${WHERE}: kiTopK ${o.kiTopK} exceeds the vocabulary (${student.vocabSize} tokens)`);
  }
  nonEmptyString("runRoot", o.runRoot);
  if (typeof o.ptCheck !== "boolean") throw new Error(`${WHERE}: ptCheck must be true or false, got ${JSON.stringify(o.ptCheck)}`);
  nonEmptyString("ptTask", o.ptTask);
  if (!Array.isArray(o.ptMethods) || o.ptMethods.length === 0) throw new Error(`${WHERE}: ptMethods must be a non-empty array, got ${JSON.stringify(o.ptMethods)}`);
  o.ptMethods.forEach((m, i) => nonEmptyString(`ptMethods[${i}]`, m));
  return Object.freeze({ ...o, seeds: Object.freeze([...o.seeds]), ptMethods: Object.freeze([...o.ptMethods]), kiEndStep });
}

/** "0,1,2" -> [0, 1, 2] (non-negative integers, comma-separated). */
export function parseSeeds(text: string): number[] {
  const parts = text.split(",").map((s) => s.trim());
  const seeds = parts.map(Number);
  if (parts.some((p) => !/^\d+$/.test(p))) throw new Error(`option --seeds: expected comma-separated non-negative integers, got '${text}'`);
  return seeds;
}

// ---------------------------------------------------------------------------------------------------------------
// The plan: run folders and pre-training commands

export type RunKind = "scratch" | "ki";

export interface PlannedRun {
  readonly kind: RunKind;
  readonly seed: number;
  /** pretrain --run-dir (resumable state in ckpt/). */
  readonly runDir: string;
  /** pretrain --out: the checkpoint folder written when the run finishes. */
  readonly checkpointDir: string;
  /** arguments of build/scripts/pretrain.js. */
  readonly args: readonly string[];
  /** the same as a shell command line. */
  readonly command: string;
}

export interface KiExperimentPlan {
  readonly options: KiExperimentOptions;
  readonly teacherName: string;
  /** folder of this experiment's runs (named from every training and evaluation setting). */
  readonly experimentDir: string;
  readonly seeds: readonly { readonly seed: number; readonly scratch: PlannedRun; readonly ki: PlannedRun }[];
}

/** Makes a string safe as one path component. */
function component(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, "_");
}

/**
 * Folder of the experiment: every setting that shapes a run's curve is in its name, so runs made with other
 * settings never resume into it (the pretrain CLI also refuses a mismatch of the training settings).
 */
export function experimentDirName(o: KiExperimentOptions): string {
  return component(`${o.student}-${o.steps}steps-b${o.batch}x${o.length}-lr${o.lr}-wu${o.warmup}-wd${o.weightDecay}-eval${o.evalEvery}x${o.evalTokens}`);
}

/** Folder name of a KI run inside a seed folder: teacher and every KI setting. */
export function kiDirName(o: KiExperimentOptions, teacherName: string): string {
  return component(`ki-${teacherName}-a${o.kiAlpha}-end${o.kiEndStep}-T${o.kiTemperature}-${o.kiTopK === null ? "full" : `top${o.kiTopK}`}`);
}

/** Quotes an argument for a POSIX shell when it needs it. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9._\/=:,+@%-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The pre-training CLI invocation, as recorded: `node build/scripts/pretrain.js ARGS`. */
export const PRETRAIN_SCRIPT = path.join("build", "scripts", "pretrain.js");

function pretrainArgs(o: KiExperimentOptions, seed: number, runDir: string, checkpointDir: string, ki: boolean): string[] {
  const args = [
    "--size", o.student, "--steps", String(o.steps), "--batch", String(o.batch), "--length", String(o.length),
    "--lr", String(o.lr), "--seed", String(seed), "--warmup", String(o.warmup), "--weight-decay", String(o.weightDecay),
    "--eval-every", String(o.evalEvery), "--eval-tokens", String(o.evalTokens), "--run-dir", runDir, "--out", checkpointDir,
  ];
  if (ki) {
    args.push(
      "--teacher", o.teacher, "--ki-alpha", String(o.kiAlpha), "--ki-end-step", String(o.kiEndStep),
      "--ki-temperature", String(o.kiTemperature), "--ki-top-k", String(o.kiTopK ?? 0),
    );
  }
  return args;
}

/** The runs of the experiment: per seed a scratch run and a KI run with identical training settings. */
export function planKiExperiment(o: KiExperimentOptions, teacherName: string): KiExperimentPlan {
  nonEmptyString("teacher name", teacherName);
  const experimentDir = path.join(o.runRoot, experimentDirName(o));
  const run = (kind: RunKind, seed: number): PlannedRun => {
    const runDir = path.join(experimentDir, `seed${seed}`, kind === "scratch" ? "scratch" : kiDirName(o, teacherName));
    const checkpointDir = path.join(runDir, "model");
    const args = pretrainArgs(o, seed, runDir, checkpointDir, kind === "ki");
    return Object.freeze({ kind, seed, runDir, checkpointDir, args: Object.freeze(args), command: ["node", PRETRAIN_SCRIPT, ...args].map(shellQuote).join(" ") });
  };
  return Object.freeze({
    options: o,
    teacherName,
    experimentDir,
    seeds: Object.freeze(o.seeds.map((seed) => Object.freeze({ seed, scratch: run("scratch", seed), ki: run("ki", seed) }))),
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Reading runs back

/** What ckpt/state.json of a pretrain run holds (the fields read here). */
interface RunState {
  readonly step: number;
  readonly tokensSeen: number;
  readonly wallSeconds: number;
  readonly history: readonly { step: number; valLoss: number; seconds: number }[];
  readonly backends: readonly string[];
  readonly ki: unknown;
}

function readRunState(runDir: string): RunState | null {
  const file = path.join(runDir, "ckpt", "state.json");
  if (!fs.existsSync(file)) return null;
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  for (const k of ["step", "tokensSeen", "wallSeconds"]) {
    if (typeof raw[k] !== "number") throw new Error(`${file}: field '${k}' must be a number, got ${JSON.stringify(raw[k])}`);
  }
  if (!Array.isArray(raw["history"])) throw new Error(`${file}: field 'history' must be an array, got ${JSON.stringify(raw["history"])}`);
  const history = (raw["history"] as unknown[]).map((h, i) => {
    const p = (h ?? {}) as Record<string, unknown>;
    for (const k of ["step", "valLoss", "seconds"]) {
      if (typeof p[k] !== "number") throw new Error(`${file}: history[${i}].${k} must be a number, got ${JSON.stringify(p[k])}`);
    }
    return { step: p["step"] as number, valLoss: p["valLoss"] as number, seconds: p["seconds"] as number };
  });
  const options = (raw["options"] ?? {}) as Record<string, unknown>;
  return {
    step: raw["step"] as number,
    tokensSeen: raw["tokensSeen"] as number,
    wallSeconds: raw["wallSeconds"] as number,
    history,
    backends: Array.isArray(raw["backends"]) ? (raw["backends"] as string[]) : [],
    ki: options["ki"] ?? null,
  };
}

/** "new" (no checkpoint yet), "partial" (resumable), "done" (all steps taken and the checkpoint folder written). */
export function runStatus(run: PlannedRun, steps: number): "new" | "partial" | "done" {
  const state = readRunState(run.runDir);
  if (state === null) return "new";
  return state.step >= steps && fs.existsSync(path.join(run.checkpointDir, CHECKPOINT_FILES.weights)) ? "done" : "partial";
}

/** Evaluation steps a run of `steps` steps records: every `evalEvery` steps and the last one. */
export function evaluationSteps(steps: number, evalEvery: number): number[] {
  const out: number[] = [];
  for (let s = evalEvery; s < steps; s += evalEvery) out.push(s);
  out.push(steps);
  return out;
}

/** One validation-curve point: optimizer steps, validation loss (nats/token), training seconds so far. */
export interface TimedCurvePoint extends CurvePoint {
  /** training wall seconds up to this point (evaluations excluded), summed over resumed sessions. */
  readonly seconds: number;
}

export interface RunSummary {
  readonly kind: RunKind;
  readonly runDir: string;
  /** checkpoint folder of the finished student (not committed; loadCheckpoint / runCell backbone path). */
  readonly checkpoint: string;
  /** the pretrain command that made (and resumes) this run. */
  readonly command: string;
  readonly steps: number;
  readonly tokensSeen: number;
  /** training wall seconds (evaluation excluded), summed over sessions. */
  readonly trainSeconds: number;
  readonly curve: readonly TimedCurvePoint[];
  /** next-token loss on the whole held-out split, measured when the checkpoint was written (nats/token). */
  readonly finalValLoss: number;
  readonly finalValPerplexity: number;
  /** weights fingerprint of the checkpoint. */
  readonly fingerprint: string;
  /** tfjs backends the run used (more than one if resumed elsewhere). */
  readonly backends: readonly string[];
}

/**
 * Reads a finished run: its curve from ckpt/state.json, its final validation loss from the checkpoint's
 * metadata. Throws, naming the file, when the run is unfinished, was made with other evaluation settings, or
 * is not of the planned kind. `fingerprint` is the checkpoint's (computed by the caller, which loads it).
 */
export function readRunSummary(run: PlannedRun, o: Pick<KiExperimentOptions, "steps" | "evalEvery">, fingerprint: string): RunSummary {
  const stateFile = path.join(run.runDir, "ckpt", "state.json");
  const state = readRunState(run.runDir);
  if (state === null) throw new Error(`${stateFile}: missing: the ${run.kind} run of seed ${run.seed} has not started (${run.command})`);
  if (state.step < o.steps) {
    throw new Error(`${stateFile}: the ${run.kind} run of seed ${run.seed} stopped at step ${state.step} of ${o.steps}; run the same command to resume`);
  }
  if ((run.kind === "ki") !== (state.ki !== null)) {
    throw new Error(`${stateFile}: expected a ${run.kind === "ki" ? "knowledge-inheritance" : "from-scratch"} run, found ${state.ki === null ? "one without" : "one with"} a teacher`);
  }
  const expected = evaluationSteps(o.steps, o.evalEvery);
  const got = state.history.map((h) => h.step);
  if (got.join(",") !== expected.join(",")) {
    throw new Error(
      `${stateFile}: validation curve evaluated at steps [${got.join(", ")}], expected [${expected.join(", ")}] ` +
        `(evaluation every ${o.evalEvery} steps); the run folder was made with other settings`,
    );
  }
  const weights = path.join(run.checkpointDir, CHECKPOINT_FILES.weights);
  if (!fs.existsSync(weights)) throw new Error(`${weights}: missing: the ${run.kind} run of seed ${run.seed} finished but wrote no checkpoint; run the same command again`);
  const raw = readSafetensorsHeader(weights).metadata["val_loss"];
  const finalValLoss = Number(raw);
  if (raw === undefined || !Number.isFinite(finalValLoss)) throw new Error(`${weights}: metadata 'val_loss' must be a number, got ${JSON.stringify(raw)}`);
  return {
    kind: run.kind,
    runDir: run.runDir,
    checkpoint: run.checkpointDir,
    command: run.command,
    steps: state.step,
    tokensSeen: state.tokensSeen,
    trainSeconds: state.wallSeconds,
    curve: state.history.map((h) => ({ step: h.step, valLoss: h.valLoss, seconds: h.seconds })),
    finalValLoss,
    finalValPerplexity: Math.exp(finalValLoss),
    fingerprint,
    backends: [...state.backends],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Compute saved

/**
 * Forward-pass FLOPs per token (Kaplan et al. 2020): 2 per weight of the blocks and of the tied output matrix
 * (2 N_nonemb + 2 V d) plus attention scores and mixing over a context of `length` (2 n_layer n_ctx d). A
 * training step is about 3x its forward pass (backward = 2x forward).
 */
export function forwardFlopsPerToken(c: TransformerConfig, length: number): number {
  return 2 * (nonEmbeddingParams(c) + c.vocabSize * c.dModel) + 2 * c.nLayers * length * c.dModel;
}

/** Extra cost of a KI step while a_t > 0: the teacher's forward pass, as a fraction of a student training step. */
export function teacherOverhead(teacher: TransformerConfig, student: TransformerConfig, length: number): number {
  return forwardFlopsPerToken(teacher, length) / (3 * forwardFlopsPerToken(student, length));
}

/** Linear interpolation of `seconds` at a (fractional) step along a curve; before the first point: proportional. */
export function secondsAtStep(curve: readonly TimedCurvePoint[], step: number): number {
  if (curve.length === 0) throw new Error("secondsAtStep: empty curve");
  const first = curve[0]!;
  if (step <= first.step) return first.step > 0 ? (first.seconds * step) / first.step : first.seconds;
  for (let i = 1; i < curve.length; i++) {
    const a = curve[i - 1]!;
    const b = curve[i]!;
    if (step <= b.step) return a.seconds + ((step - a.step) / (b.step - a.step)) * (b.seconds - a.seconds);
  }
  return curve[curve.length - 1]!.seconds;
}

export interface SeedSaving extends ComputeSaved {
  /**
   * kiSteps in student-training-step equivalents, counting the teacher's forward passes:
   * kiSteps + overhead * min(kiSteps, kiEndStep); null = not reached.
   */
  readonly kiCostSteps: number | null;
  /** 1 - kiCostSteps / scratchSteps: the saving after paying for the teacher (FLOP estimate); null = not reached. */
  readonly savedWithTeacher: number | null;
  /** training seconds the KI run took to reach the target (interpolated along its curve); null = not reached. */
  readonly kiSecondsToTarget: number | null;
  /** training seconds of the whole scratch run. */
  readonly scratchSeconds: number;
  /** 1 - kiSecondsToTarget / scratchSeconds (wall clock: noisy on a shared machine); null = not reached. */
  readonly savedWallClock: number | null;
}

/** Compute saved by the KI run of one seed, in steps, in FLOP-equivalent steps (teacher included) and in seconds. */
export function seedSaving(scratch: readonly TimedCurvePoint[], ki: readonly TimedCurvePoint[], overhead: number, kiEndStep: number): SeedSaving {
  if (!(overhead >= 0 && Number.isFinite(overhead))) throw new Error(`seedSaving: teacher overhead must be a non-negative number, got ${overhead}`);
  const base = computeSaved(scratch, ki);
  const scratchSeconds = scratch[scratch.length - 1]!.seconds;
  if (base.kiSteps === null) {
    return { ...base, kiCostSteps: null, savedWithTeacher: null, kiSecondsToTarget: null, scratchSeconds, savedWallClock: null };
  }
  const kiCostSteps = base.kiSteps + overhead * Math.min(base.kiSteps, kiEndStep);
  const kiSecondsToTarget = secondsAtStep(ki, base.kiSteps);
  return {
    ...base,
    kiCostSteps,
    savedWithTeacher: 1 - kiCostSteps / base.scratchSteps,
    kiSecondsToTarget,
    scratchSeconds,
    savedWallClock: scratchSeconds > 0 ? 1 - kiSecondsToTarget / scratchSeconds : null,
  };
}

export interface SavingSummary {
  readonly seeds: number;
  /** seeds whose KI run reached the scratch run's final validation loss. */
  readonly reached: number;
  /** mean over seeds of `saved`; null unless every seed reached the target (a mean over the others would flatter KI). */
  readonly meanSaved: number | null;
  readonly meanSavedWithTeacher: number | null;
  readonly meanSavedWallClock: number | null;
  /** mean final validation loss (whole held-out split) of each arm. */
  readonly meanFinalValLoss: { readonly scratch: number; readonly ki: number };
}

function meanOrNull(xs: readonly (number | null)[]): number | null {
  if (xs.length === 0 || xs.some((x) => x === null)) return null;
  return (xs as number[]).reduce((a, b) => a + b, 0) / xs.length;
}

export function summarizeSavings(seeds: readonly { scratch: RunSummary; ki: RunSummary; saving: SeedSaving }[]): SavingSummary {
  if (seeds.length === 0) throw new Error("summarizeSavings: no seeds");
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    seeds: seeds.length,
    reached: seeds.filter((s) => s.saving.saved !== null).length,
    meanSaved: meanOrNull(seeds.map((s) => s.saving.saved)),
    meanSavedWithTeacher: meanOrNull(seeds.map((s) => s.saving.savedWithTeacher)),
    meanSavedWallClock: meanOrNull(seeds.map((s) => s.saving.savedWallClock)),
    meanFinalValLoss: { scratch: mean(seeds.map((s) => s.scratch.finalValLoss)), ki: mean(seeds.map((s) => s.ki.finalValLoss)) },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Prompt-tuning check: does prompt tuning on the KI-grown backbone do as well as on the scratch one?

export interface PtCheckCell {
  readonly seed: number;
  readonly student: RunKind;
  readonly cell: Cell;
}

/** Path of a run's checkpoint as a runCell backbone: relative to `root` when inside it (always contains "/"). */
export function backbonePath(checkpointDir: string, root: string): string {
  const abs = path.resolve(checkpointDir);
  const rel = path.relative(root, abs);
  const inside = rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
  return (inside ? rel : abs).split(path.sep).join("/");
}

/** One cell per seed x student x method; the cell's seed is the training seed (same as the pre-training seed). */
export function ptCheckCells(plan: KiExperimentPlan, root: string): PtCheckCell[] {
  const o = plan.options;
  const out: PtCheckCell[] = [];
  for (const s of plan.seeds) {
    for (const run of [s.scratch, s.ki]) {
      for (const method of o.ptMethods) {
        out.push({ seed: s.seed, student: run.kind, cell: makeCell({ backbone: backbonePath(run.checkpointDir, root), task: o.ptTask, method, seed: s.seed, options: { steps: o.ptSteps } }) });
      }
    }
  }
  return out;
}

export interface PtCheckRow {
  readonly seed: number;
  readonly student: RunKind;
  readonly method: string;
  readonly task: string;
  /** runCell backbone path and the checkpoint's weights fingerprint. */
  readonly backbone: string;
  readonly fingerprint: string;
  readonly testAccuracy: number;
  readonly devAccuracy: number | null;
  readonly steps: number;
  readonly wallSeconds: number;
  readonly cellId: string;
}

export interface PtCheckSummaryRow {
  readonly method: string;
  readonly seeds: number;
  readonly scratchAccuracy: number;
  readonly kiAccuracy: number;
  /** mean over seeds of (KI - scratch) test accuracy. */
  readonly kiMinusScratch: number;
}

export interface PtCheck {
  readonly task: string;
  readonly steps: number;
  readonly rows: readonly PtCheckRow[];
  readonly summary: readonly PtCheckSummaryRow[];
}

/** Rows of the check from the grid records; throws if a record is missing or was made on other weights. */
export function ptCheckResult(cells: readonly PtCheckCell[], records: readonly RunRecord[], fingerprints: ReadonlyMap<string, string>, o: KiExperimentOptions): PtCheck {
  const byId = new Map(records.map((r) => [r.cellId, r]));
  const rows = cells.map(({ seed, student, cell }) => {
    const r = byId.get(cell.cellId);
    if (!r) throw new Error(`prompt-tuning check: no record for cell ${cell.cellId} (${cell.method} on ${cell.backbone}, seed ${seed})`);
    const want = fingerprints.get(cell.backbone);
    if (want !== undefined && r.backbone.fingerprint !== want) {
      throw new Error(
        `prompt-tuning check: the record of cell ${cell.cellId} (${cell.method} on ${cell.backbone}) was made on weights ${r.backbone.fingerprint}, ` +
          `the checkpoint now has ${want}; move the pt-check results file away to rerun`,
      );
    }
    return {
      seed, student, method: cell.method, task: cell.task, backbone: cell.backbone, fingerprint: r.backbone.fingerprint,
      testAccuracy: r.metrics.accuracy, devAccuracy: r.devMetrics?.accuracy ?? null, steps: r.steps, wallSeconds: r.wallSeconds, cellId: cell.cellId,
    };
  });
  return { task: o.ptTask, steps: o.ptSteps, rows, summary: ptCheckSummary(rows) };
}

/** Per method: mean test accuracy of each student and the mean paired difference KI - scratch over seeds. */
export function ptCheckSummary(rows: readonly PtCheckRow[]): PtCheckSummaryRow[] {
  const methods = [...new Set(rows.map((r) => r.method))];
  return methods.map((method) => {
    const seeds = [...new Set(rows.filter((r) => r.method === method).map((r) => r.seed))];
    const pairs = seeds.map((seed) => {
      const get = (student: RunKind) => rows.find((r) => r.method === method && r.seed === seed && r.student === student);
      const s = get("scratch");
      const k = get("ki");
      if (!s || !k) throw new Error(`prompt-tuning check: ${method}, seed ${seed}: ${!s ? "scratch" : "KI"} row missing`);
      return { s: s.testAccuracy, k: k.testAccuracy };
    });
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    return {
      method,
      seeds: pairs.length,
      scratchAccuracy: mean(pairs.map((p) => p.s)),
      kiAccuracy: mean(pairs.map((p) => p.k)),
      kiMinusScratch: mean(pairs.map((p) => p.k - p.s)),
    };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The result file

export const KI_RESULT_KIND = "softprompt-kit/ki-experiment";
export const KI_RESULT_VERSION = 1;

export interface ModelInfo {
  readonly name: string;
  readonly config: TransformerConfig;
  readonly nonEmbeddingParams: number;
  readonly totalParams: number;
}

export interface KiSeedResult {
  readonly seed: number;
  readonly scratch: RunSummary;
  readonly ki: RunSummary;
  readonly saving: SeedSaving;
}

export interface KiExperimentResult {
  readonly kind: typeof KI_RESULT_KIND;
  readonly version: typeof KI_RESULT_VERSION;
  readonly createdAt: string;
  /** the command that produced this file. */
  readonly command: string;
  readonly options: KiExperimentOptions;
  readonly experimentDir: string;
  readonly student: ModelInfo;
  readonly teacher: ModelInfo & { readonly dir: string; readonly fingerprint: string };
  /** teacher forward FLOPs per student training step (forwardFlopsPerToken), used for savedWithTeacher. */
  readonly teacherOverhead: number;
  /** tfjs backend of the process that assembled the result (each run lists its own in `backends`). */
  readonly backend: string;
  readonly seeds: readonly KiSeedResult[];
  readonly summary: SavingSummary;
  readonly ptCheck: PtCheck | null;
}

export function modelInfo(name: string, config: TransformerConfig): ModelInfo {
  return { name, config, nonEmbeddingParams: nonEmbeddingParams(config), totalParams: totalParams(config) };
}

/** Default result path: results/ki/<student>-ki-<teacher>-<steps>steps.json. */
export function defaultResultPath(o: KiExperimentOptions, teacherName: string): string {
  return path.join("results", "ki", `${component(`${o.student}-ki-${teacherName}-${o.steps}steps`)}.json`);
}

/** Result files at `target`: the file itself, or the *.json files of a folder (sorted); none if it is missing. */
export function kiResultFiles(target: string): string[] {
  if (!fs.existsSync(target)) return [];
  if (fs.statSync(target).isFile()) return [target];
  return fs
    .readdirSync(target)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => path.join(target, f));
}

type Json = Record<string, unknown>;

function field(obj: unknown, key: string, where: string): unknown {
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) throw new Error(`${where}: expected an object, got ${JSON.stringify(obj)}`);
  return (obj as Json)[key];
}

function num(obj: unknown, key: string, where: string, nullable = false): number | null {
  const v = field(obj, key, where);
  if (nullable && v === null) return null;
  if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`${where}.${key}: expected ${nullable ? "null or " : ""}a finite number, got ${JSON.stringify(v)}`);
  return v;
}

function str(obj: unknown, key: string, where: string): string {
  const v = field(obj, key, where);
  if (typeof v !== "string") throw new Error(`${where}.${key}: expected a string, got ${JSON.stringify(v)}`);
  return v;
}

function arr(obj: unknown, key: string, where: string): unknown[] {
  const v = field(obj, key, where);
  if (!Array.isArray(v)) throw new Error(`${where}.${key}: expected an array, got ${JSON.stringify(v)}`);
  return v;
}

function checkRun(run: unknown, where: string): void {
  const curve = arr(run, "curve", where);
  if (curve.length === 0) throw new Error(`${where}.curve: empty`);
  curve.forEach((p, i) => {
    num(p, "step", `${where}.curve[${i}]`);
    num(p, "valLoss", `${where}.curve[${i}]`);
    num(p, "seconds", `${where}.curve[${i}]`);
  });
  for (const k of ["steps", "trainSeconds", "finalValLoss", "finalValPerplexity"]) num(run, k, where);
  for (const k of ["checkpoint", "command", "fingerprint"]) str(run, k, where);
}

/**
 * Reads and checks a result file (the fields the notebook uses), naming the file and the field on a problem:
 * kind and version, teacher name and fingerprint, per seed both curves, final losses and the savings.
 */
export function readKiResult(file: string): KiExperimentResult {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${file}: cannot read a KI result: ${(err as Error).message}`);
  }
  const w = file;
  if (field(raw, "kind", w) !== KI_RESULT_KIND) throw new Error(`${w}.kind: expected "${KI_RESULT_KIND}", got ${JSON.stringify(field(raw, "kind", w))}`);
  if (field(raw, "version", w) !== KI_RESULT_VERSION) throw new Error(`${w}.version: expected ${KI_RESULT_VERSION}, got ${JSON.stringify(field(raw, "version", w))}`);
  str(raw, "command", w);
  const options = field(raw, "options", w);
  for (const k of ["steps", "evalEvery", "kiAlpha", "kiEndStep"]) num(options, k, `${w}.options`);
  str(field(raw, "teacher", w), "name", `${w}.teacher`);
  str(field(raw, "teacher", w), "fingerprint", `${w}.teacher`);
  str(field(raw, "student", w), "name", `${w}.student`);
  num(raw, "teacherOverhead", w);
  const seeds = arr(raw, "seeds", w);
  if (seeds.length === 0) throw new Error(`${w}.seeds: empty`);
  seeds.forEach((s, i) => {
    const sw = `${w}.seeds[${i}]`;
    num(s, "seed", sw);
    checkRun(field(s, "scratch", sw), `${sw}.scratch`);
    checkRun(field(s, "ki", sw), `${sw}.ki`);
    const saving = field(s, "saving", sw);
    for (const k of ["target", "scratchSteps", "scratchSeconds"]) num(saving, k, `${sw}.saving`);
    for (const k of ["kiSteps", "saved", "kiCostSteps", "savedWithTeacher", "kiSecondsToTarget", "savedWallClock"]) num(saving, k, `${sw}.saving`, true);
  });
  const summary = field(raw, "summary", w);
  num(summary, "reached", `${w}.summary`);
  num(summary, "meanSaved", `${w}.summary`, true);
  const pt = field(raw, "ptCheck", w);
  if (pt !== null) {
    if (pt === undefined) throw new Error(`${w}.ptCheck: expected null or an object, got undefined`);
    arr(pt, "rows", `${w}.ptCheck`).forEach((r, i) => {
      num(r, "testAccuracy", `${w}.ptCheck.rows[${i}]`);
      str(r, "method", `${w}.ptCheck.rows[${i}]`);
      str(r, "student", `${w}.ptCheck.rows[${i}]`);
    });
    arr(pt, "summary", `${w}.ptCheck`);
  }
  return raw as KiExperimentResult;
}
