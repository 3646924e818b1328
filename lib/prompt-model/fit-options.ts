/**
 * Options of PromptModel.fit: the training settings of a grid cell (same defaults as CELL_DEFAULTS, so a
 * prompt trained here and a `prompt-tuning` cell with the same settings run the same procedure), checked with
 * the user's option names in every message.
 */
import { CELL_DEFAULTS } from "../experiment/run-cell";
import {
  finiteNumber,
  isPlainObject,
  knownKeys,
  nonNegativeInt,
  nonNegativeNumber,
  nullable,
  oneOf,
  positiveInt,
  integer,
} from "../io/validate";
import { OPTIMIZER_NAMES, type OptimizerName } from "../train/optimizer";
import type { Schedule } from "../train/schedule";
import type { CurvePoint } from "../experiment/record";
import type { EvalInfo, StepInfo } from "../train/trainer";

export const SCHEDULE_KINDS = ["warmup-linear", "warmup-cosine", "constant"] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];

export interface FitOptions {
  readonly steps: number;
  readonly batchSize: number;
  /** null: the method's default learning rate. */
  readonly lr: number | null;
  readonly warmupSteps: number;
  readonly schedule: ScheduleKind;
  readonly weightDecay: number;
  /** gradient clipping by global norm; 0 = no clipping. */
  readonly clipNorm: number;
  readonly optimizer: OptimizerName;
  /** evaluate on dev every N steps (and at the end); the dev-best prompt is kept. */
  readonly evalEvery: number;
  /** stop after this many evaluations without improvement (0 = never stop early). */
  readonly patience: number;
  /** cap on dev examples used for checkpoint selection; null = all. */
  readonly maxDev: number | null;
  readonly evalBatchSize: number;
  /** seed of the batch order (null: the model's seed). */
  readonly seed: number | null;
}

/** What fit returns: the trainer's result, its curve in the form run records use. */
export interface FitResult {
  /** optimizer steps taken (fewer than asked when early stopping triggered). */
  readonly steps: number;
  /** the step whose prompt was kept (best dev accuracy). */
  readonly bestStep: number;
  readonly bestDevAccuracy: number;
  readonly stoppedEarly: boolean;
  /** training loss and dev accuracy at each evaluation (as RunRecord.curve). */
  readonly curve: CurvePoint[];
  /** mean wall milliseconds per optimizer step (evaluation excluded). */
  readonly msPerStep: number;
}

/** Progress callbacks of fit (not options: they are not recorded). */
export interface FitHooks {
  onStep?(s: StepInfo): void;
  onEval?(e: EvalInfo): void;
}

export const FIT_DEFAULTS: FitOptions = Object.freeze({
  steps: CELL_DEFAULTS.steps,
  batchSize: CELL_DEFAULTS.batchSize,
  lr: null,
  warmupSteps: CELL_DEFAULTS.warmupSteps,
  schedule: CELL_DEFAULTS.schedule,
  weightDecay: CELL_DEFAULTS.weightDecay,
  clipNorm: CELL_DEFAULTS.clipNorm,
  optimizer: CELL_DEFAULTS.optimizer,
  evalEvery: CELL_DEFAULTS.evalEvery,
  patience: CELL_DEFAULTS.patience,
  maxDev: CELL_DEFAULTS.maxDev,
  evalBatchSize: CELL_DEFAULTS.evalBatchSize,
  seed: null,
});

const HOOKS = ["onStep", "onEval"] as const;

/** Merges `options` over the defaults (never mutating it) and checks every value; `where` prefixes messages. */
export function resolveFitOptions(options: unknown, where = "fit"): FitOptions & FitHooks {
  if (!isPlainObject(options))
    throw new Error(
      `${where}: options must be an object like { steps: 100, lr: 0.03 }, got ${JSON.stringify(options)}`,
    );
  knownKeys(options, [...Object.keys(FIT_DEFAULTS), ...HOOKS], where);
  const o = { ...FIT_DEFAULTS, ...options } as Record<string, unknown>;
  const at = (k: string) => `${where}: option ${k}`;
  for (const h of HOOKS)
    if (o[h] !== undefined && typeof o[h] !== "function")
      throw new Error(`${at(h)} must be a function, got ${typeof o[h]}`);
  const steps = positiveInt(o["steps"], at("steps"));
  return {
    steps,
    batchSize: positiveInt(o["batchSize"], at("batchSize")),
    lr: nullable(o["lr"], at("lr"), (v, w) => finiteNumber(v, w, { above: 0, max: 10 })),
    warmupSteps: nonNegativeInt(o["warmupSteps"], at("warmupSteps")),
    schedule: oneOf(o["schedule"], at("schedule"), SCHEDULE_KINDS),
    weightDecay: nonNegativeNumber(o["weightDecay"], at("weightDecay")),
    clipNorm: nonNegativeNumber(o["clipNorm"], at("clipNorm")),
    optimizer: oneOf(o["optimizer"], at("optimizer"), OPTIMIZER_NAMES),
    evalEvery: Math.min(positiveInt(o["evalEvery"], at("evalEvery")), steps),
    patience: nonNegativeInt(o["patience"], at("patience")),
    maxDev: nullable(o["maxDev"], at("maxDev"), positiveInt),
    evalBatchSize: positiveInt(o["evalBatchSize"], at("evalBatchSize")),
    seed: nullable(o["seed"], at("seed"), (v, w) => integer(v, w, { min: 0 })),
    onStep: o["onStep"] as FitHooks["onStep"],
    onEval: o["onEval"] as FitHooks["onEval"],
  };
}

/** The learning-rate schedule of a run of `steps` steps (warmup-cosine decays to 10% of lr). */
export function scheduleFor(kind: ScheduleKind, lr: number, warmupSteps: number, steps: number): Schedule {
  switch (kind) {
    case "constant":
      return { kind: "constant", lr };
    case "warmup-cosine":
      return { kind: "warmup-cosine", lr, warmupSteps, totalSteps: steps, minRatio: 0.1 };
    case "warmup-linear":
      return { kind: "warmup-linear", lr, warmupSteps, totalSteps: steps };
  }
}
