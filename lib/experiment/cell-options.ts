/**
 * Options of a grid cell: their type, defaults, and the one place their values are checked. Every option's type
 * and range is checked here, before anything loads or trains, with messages that name the option as the user
 * wrote it in the grid (`fixed`, `options` or `methodOptions`) and show the bad value. Checks that need the
 * method (learning rate x weight decay, prompt-only options) are in `checkOptionsForMethod`.
 */
import { PREFIX_POSITIONS, type PrefixPositions } from "../backbone/kv-prefix";
import { parseExpertMemory } from "../backbone/moe/offload";
import { PROMPT_INITS, type PromptInitKind } from "../prompt/initializers";
import { parsePosition } from "../prompt/positions";
import { TASK_NAMES } from "../tasks/data/registry";
import { OPTIMIZER_NAMES, type OptimizerName } from "../train/optimizer";
import type { Schedule } from "../train/schedule";
import type { Method } from "../tuning/method";
import { METHODS } from "../tuning/methods";
import {
  boolean,
  finiteNumber,
  integer,
  knownKeys,
  nonNegativeInt,
  nullable,
  oneOf,
  positiveInt,
  string,
  ValidationError,
} from "../io/validate";

export const SCHEDULES = ["warmup-linear", "warmup-cosine", "constant"] as const;

/** Options of a cell (grid `fixed` / `options` / `methodOptions` values override these). */
export interface CellOptions {
  readonly steps: number;
  readonly batchSize: number;
  /** null: the method's default learning rate (Method.defaultLr). */
  readonly lr: number | null;
  readonly warmupSteps: number;
  /** "warmup-linear" (warmup then linear decay to 0), "warmup-cosine" (to 10%) or "constant". */
  readonly schedule: (typeof SCHEDULES)[number];
  readonly weightDecay: number;
  /** global gradient-norm clip; 0 disables clipping (lib/train/gradient-step.ts). */
  readonly clipNorm: number;
  /** "adamw" or "adafactor" (factored second moments, as in T5 / Lester et al. / CPM-2). */
  readonly optimizer: OptimizerName;
  readonly evalEvery: number;
  /** stop after this many dev evaluations without improvement; 0 = never stop early. */
  readonly patience: number;
  readonly promptLength: number;
  readonly promptInit: PromptInitKind;
  readonly promptPosition: string;
  readonly initRange: number;
  /** keep this many training examples per class (few-shot); null = all. */
  readonly trainPerClass: number | null;
  /** cap on dev examples used for early stopping; null = all. */
  readonly maxDev: number | null;
  /** cap on test examples; null = all. */
  readonly maxTest: number | null;
  /**
   * Two-stage prompt tuning (CPM-2): first tune the prompt on this task (a related task with the same label
   * words, e.g. amazon before yelp), then on the cell's task starting from that prompt. null: one stage.
   */
  readonly stage1Task: string | null;
  /** optimizer steps of stage 1; null: the same as `steps`. */
  readonly stage1Steps: number | null;
  /** seed of the data split (fixed across training seeds so every seed sees the same test set). */
  readonly dataSeed: number;
  readonly evalBatchSize: number;
  /**
   * Activation checkpointing: every forward pass of the cell recomputes each transformer block in the backward
   * pass instead of keeping its activations (lower peakTensorBytes, slower steps; same results).
   */
  readonly checkpoint: boolean;
  /**
   * Mixture-of-experts backbones: keep the experts in the checkpoint file and hold at most this much of them
   * (BYTES, e.g. "64MB", or PERCENT of all experts, e.g. "25%"; lib/backbone/moe/offload.ts). null: all resident.
   */
  readonly expertMemory: string | null;
  /**
   * prefix-tuning only: train the key/value prefixes through Li & Liang's reparameterisation MLP (an embedding
   * [P, D] -> Linear(D, H) -> tanh -> Linear(H, L*2*W); PEFT's prefix_projection) instead of directly.
   */
  readonly prefixProjection: boolean;
  /** prefix-tuning with prefixProjection: the MLP's hidden width H; null = the model width (PEFT's default). */
  readonly prefixHidden: number | null;
  /**
   * prefix-tuning only: how the real tokens are numbered next to the prefix, in training and evaluation. "from-0"
   * (0, 1, ...) or "after-prefix" (P, P+1, ...: Hugging Face's numbering when PEFT passes the prefix as
   * past_key_values; a prefix trained so can be exported as a PEFT PREFIX_TUNING adapter).
   */
  readonly prefixPositions: PrefixPositions;
}

export const CELL_DEFAULTS: CellOptions = Object.freeze({
  steps: 200,
  batchSize: 16,
  lr: null,
  warmupSteps: 10,
  schedule: "warmup-linear",
  weightDecay: 0,
  clipNorm: 1,
  optimizer: "adamw",
  evalEvery: 50,
  patience: 0,
  promptLength: 20,
  promptInit: "sampled-vocab",
  promptPosition: "front",
  initRange: 0.5,
  trainPerClass: null,
  maxDev: 200,
  maxTest: null,
  stage1Task: null,
  stage1Steps: null,
  dataSeed: 0,
  evalBatchSize: 32,
  checkpoint: false,
  expertMemory: null,
  prefixProjection: false,
  prefixHidden: null,
  prefixPositions: "from-0",
});

/**
 * Largest learning rate a cell accepts. The largest rates in the prompt-tuning literature are 0.3 (Lester et al.
 * 2021, Adafactor) to ~1 (some sweeps); 10 leaves a factor of 10 of headroom for exploration while refusing typos
 * and unit slips (1e30, 3e2 for 3e-2), which can only diverge.
 */
export const LR_MAX = 10;

/** Default learning rate per method, read from the method registry (Method.defaultLr). */
export const DEFAULT_LR: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(Object.entries(METHODS).map(([name, m]) => [name, m.defaultLr])),
);

/** A file task's identity key (lib/tasks/file-task.ts TaskIdentity.key), as a cell's task or stage1Task. */
export const FILE_TASK_KEY = /^.+@[0-9a-f]{12}$/;

/** Prompt initialisations a cell can use ("text" needs an init text, which only the prompt API takes). */
const CELL_PROMPT_INITS = PROMPT_INITS.filter((k) => k !== "text");

/**
 * Fills `options` from CELL_DEFAULTS and checks every value's type and range; never mutates `options`.
 * `where` names the cell in the user's words (e.g. "grids/x.json: cell 3 (kit-nano/yelp/prompt-tuning seed=0)");
 * each message adds "option NAME". Throws a ValidationError on the first bad value.
 */
export function resolveCellOptions(options: Readonly<Record<string, unknown>>, where: string): CellOptions {
  knownKeys(options as Record<string, unknown>, Object.keys(CELL_DEFAULTS), where);
  const v = { ...CELL_DEFAULTS, ...options } as Record<keyof CellOptions, unknown>;
  const at = (k: string): string => `${where}: option ${k}`;
  const posInt = (k: keyof CellOptions) => positiveInt(v[k], at(k));
  const o: CellOptions = {
    steps: posInt("steps"),
    batchSize: posInt("batchSize"),
    lr: nullable(v.lr, at("lr"), (x, w) => finiteNumber(x, w, { above: 0, max: LR_MAX })),
    warmupSteps: nonNegativeInt(v.warmupSteps, at("warmupSteps")),
    schedule: oneOf(v.schedule, at("schedule"), SCHEDULES),
    // Decoupled decay shrinks weights by lr * weightDecay per step; the product is checked per method below.
    weightDecay: finiteNumber(v.weightDecay, at("weightDecay"), { min: 0 }),
    clipNorm: finiteNumber(v.clipNorm, at("clipNorm (0 disables clipping)"), { min: 0 }),
    optimizer: oneOf(v.optimizer, at("optimizer"), OPTIMIZER_NAMES),
    evalEvery: posInt("evalEvery"),
    patience: nonNegativeInt(v.patience, at("patience (0 = never stop early)")),
    promptLength: posInt("promptLength"),
    promptInit: oneOf(v.promptInit, at("promptInit"), CELL_PROMPT_INITS),
    promptPosition: string(v.promptPosition, at("promptPosition"), { nonEmpty: true }),
    initRange: finiteNumber(v.initRange, at("initRange"), { above: 0 }),
    trainPerClass: nullable(v.trainPerClass, at("trainPerClass"), positiveInt),
    maxDev: nullable(v.maxDev, at("maxDev"), positiveInt),
    maxTest: nullable(v.maxTest, at("maxTest"), positiveInt),
    // a built-in name, or the identity key ("name@<12 hex>") expandGrid gave a file task object
    stage1Task: nullable(v.stage1Task, at("stage1Task"), (x, w) =>
      typeof x === "string" && FILE_TASK_KEY.test(x) ? x : oneOf(x, w, TASK_NAMES),
    ),
    stage1Steps: nullable(v.stage1Steps, at("stage1Steps"), positiveInt),
    dataSeed: integer(v.dataSeed, at("dataSeed")),
    evalBatchSize: posInt("evalBatchSize"),
    checkpoint: boolean(v.checkpoint, at("checkpoint (activation checkpointing)")),
    expertMemory: nullable(v.expertMemory, at("expertMemory"), (x, w) => {
      parseExpertMemory(string(x, w), 1, w); // the syntax; the budget itself is checked against the experts at load
      return x as string;
    }),
    prefixProjection: boolean(v.prefixProjection, at("prefixProjection")),
    prefixHidden: nullable(v.prefixHidden, at("prefixHidden"), positiveInt),
    prefixPositions: oneOf(v.prefixPositions, at("prefixPositions"), PREFIX_POSITIONS),
  };
  if (o.prefixHidden !== null && !o.prefixProjection) {
    throw new ValidationError(
      at("prefixHidden"),
      "null unless prefixProjection is true (it is the reparameterisation MLP's hidden width)",
      o.prefixHidden,
    );
  }
  try {
    parsePosition(o.promptPosition, o.promptLength);
  } catch (err) {
    throw new ValidationError(
      at("promptPosition"),
      `front, back, middle or a '+' combination with room in promptLength ${o.promptLength} (${(err as Error).message})`,
      o.promptPosition,
    );
  }
  return o;
}

/** Checks that need the method: throws naming the option when it does not apply to `method` or is out of range. */
export function checkOptionsForMethod(o: CellOptions, method: Method, where: string): void {
  if (o.stage1Task !== null && !method.trainsPrompt) {
    const prompt = Object.values(METHODS)
      .filter((m) => m.trainsPrompt)
      .map((m) => m.name);
    throw new Error(
      `${where}: option stage1Task (two-stage prompt tuning) needs a prompt method (${prompt.join(", ")}), got '${method.name}'`,
    );
  }
  const prefixOption = o.prefixProjection
    ? "prefixProjection"
    : o.prefixHidden !== null
      ? "prefixHidden"
      : o.prefixPositions !== CELL_DEFAULTS.prefixPositions
        ? "prefixPositions"
        : null;
  if (method.name !== "prefix-tuning" && prefixOption !== null) {
    const k = prefixOption;
    throw new Error(
      `${where}: option ${k} applies only to method prefix-tuning, got '${method.name}' (set it under methodOptions["prefix-tuning"])`,
    );
  }
  if (method.name === "prefix-tuning" && o.promptPosition !== CELL_DEFAULTS.promptPosition) {
    throw new Error(
      `${where}: option promptPosition '${o.promptPosition}' does not apply to prefix-tuning (its prefixes are keys and values every token sees, not input positions); leave it at '${CELL_DEFAULTS.promptPosition}'`,
    );
  }
  if (method.name === "prefix-tuning" && !["sampled-vocab", "random-uniform"].includes(o.promptInit)) {
    throw new Error(
      `${where}: option promptInit '${o.promptInit}' does not apply to prefix-tuning (sampled-vocab starts the prefixes from real tokens' keys and values, random-uniform from noise)`,
    );
  }
  const lr = cellLearningRate(o, method);
  if (method.trains && lr * o.weightDecay >= 1) {
    // AdamW/Adafactor decay: w <- w - lr * weightDecay * w; at lr * weightDecay >= 1 every step zeroes or flips the weights.
    const given = o.lr !== null ? `lr ${o.lr}` : `the default lr ${lr} of ${method.name}`;
    throw new Error(
      `${where}: option weightDecay ${o.weightDecay} with ${given} shrinks weights by lr * weightDecay = ${lr * o.weightDecay} per step; it must be < 1`,
    );
  }
}

/** The learning rate a cell trains with: its `lr` option, else the method's default. */
export function cellLearningRate(o: CellOptions, method: Method): number {
  return o.lr ?? method.defaultLr;
}

/** Optimizer steps of stage 1 (0 without two-stage tuning). */
export function stage1StepsOf(o: CellOptions): number {
  return o.stage1Task === null ? 0 : (o.stage1Steps ?? o.steps);
}

/** The learning-rate schedule of a training stage of `steps` steps. */
export function scheduleOf(o: CellOptions, lr: number, steps: number = o.steps): Schedule {
  switch (o.schedule) {
    case "constant":
      return { kind: "constant", lr };
    case "warmup-cosine":
      return { kind: "warmup-cosine", lr, warmupSteps: o.warmupSteps, totalSteps: steps, minRatio: 0.1 };
    case "warmup-linear":
      return { kind: "warmup-linear", lr, warmupSteps: o.warmupSteps, totalSteps: steps };
  }
}
