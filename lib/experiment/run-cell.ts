/**
 * Runs one grid cell: load the backbone and task, build the method, train (if it trains) with early stopping on
 * the dev split, evaluate on the test split, and return a RunRecord. Everything a cell needs is in its config,
 * so a cell runs the same in this process or in a worker process.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { tf } from "../backend/backend";
import { Rng } from "../backend/random";
import { loadCheckpoint, LoadedBackbone } from "../backbone/checkpoint";
import { classificationMetrics, ClassificationMetrics } from "../eval/metrics";
import type { PromptInitKind } from "../prompt/initializers";
import { PROMPT_SLOTS, parsePosition } from "../prompt/positions";
import { PreparedTask, TaskItem } from "../tasks/prepared-task";
import type { TaskData } from "../tasks/data/example";
import { loadTask, TASK_NAMES, TaskName } from "../tasks/data/registry";
import { train } from "../train/trainer";
import { OPTIMIZER_NAMES, optimizerStateSize, type OptimizerName } from "../train/optimizer";
import type { Schedule } from "../train/schedule";
import { getMethod } from "../tuning/methods";
import { classLoss } from "../tuning/rank-scorer";
import type { Tuned } from "../tuning/method";
import { runEnvironment } from "./environment";
import type { Cell } from "./grid";
import { cellFields, RunRecord } from "./record";

/** Options of a cell (grid `fixed` / `options` values override these). */
export interface CellOptions {
  readonly steps: number;
  readonly batchSize: number;
  /** null: the method's default learning rate. */
  readonly lr: number | null;
  readonly warmupSteps: number;
  /** "warmup-linear" (warmup then linear decay to 0), "warmup-cosine" (to 10%) or "constant". */
  readonly schedule: "warmup-linear" | "warmup-cosine" | "constant";
  readonly weightDecay: number;
  readonly clipNorm: number;
  /** "adamw" or "adafactor" (factored second moments, as in T5 / Lester et al. / CPM-2). */
  readonly optimizer: OptimizerName;
  readonly evalEvery: number;
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
});

/** Default learning rates per method (Adam): prompts need a much larger rate than full weights. */
export const DEFAULT_LR: Readonly<Record<string, number>> = Object.freeze({
  "prompt-tuning": 3e-2,
  "deep-prompt-tuning": 1e-2,
  "head-only": 1e-2,
  "full-finetune": 3e-4,
  "zero-shot": 0,
});

export function resolveCellOptions(options: Readonly<Record<string, unknown>>, where: string): CellOptions {
  const known = new Set(Object.keys(CELL_DEFAULTS));
  for (const k of Object.keys(options)) {
    if (!known.has(k)) throw new Error(`${where}: unknown option '${k}' (known: ${[...known].join(", ")})`);
  }
  const o = { ...CELL_DEFAULTS, ...options } as CellOptions;
  for (const k of ["steps", "batchSize", "evalEvery", "promptLength", "evalBatchSize"] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new Error(`${where}: option ${k} must be a positive integer, got ${JSON.stringify(o[k])}`);
  }
  if (o.lr !== null && !(typeof o.lr === "number" && o.lr > 0)) throw new Error(`${where}: option lr must be > 0 or null, got ${JSON.stringify(o.lr)}`);
  if (!["warmup-linear", "warmup-cosine", "constant"].includes(o.schedule)) {
    throw new Error(`${where}: option schedule must be warmup-linear, warmup-cosine or constant, got ${JSON.stringify(o.schedule)}`);
  }
  if (!(OPTIMIZER_NAMES as readonly string[]).includes(o.optimizer)) {
    throw new Error(`${where}: option optimizer must be ${OPTIMIZER_NAMES.join(" or ")}, got ${JSON.stringify(o.optimizer)}`);
  }
  if (o.trainPerClass !== null && !(Number.isInteger(o.trainPerClass) && o.trainPerClass > 0)) {
    throw new Error(`${where}: option trainPerClass must be a positive integer or null, got ${JSON.stringify(o.trainPerClass)}`);
  }
  if (o.stage1Task !== null && !(TASK_NAMES as readonly string[]).includes(o.stage1Task)) {
    throw new Error(`${where}: option stage1Task must be null or one of ${TASK_NAMES.join(", ")}, got ${JSON.stringify(o.stage1Task)}`);
  }
  if (o.stage1Steps !== null && !(Number.isInteger(o.stage1Steps) && o.stage1Steps > 0)) {
    throw new Error(`${where}: option stage1Steps must be a positive integer or null, got ${JSON.stringify(o.stage1Steps)}`);
  }
  if (typeof o.checkpoint !== "boolean") {
    throw new Error(`${where}: option checkpoint (activation checkpointing) must be true or false, got ${JSON.stringify(o.checkpoint)}`);
  }
  return o;
}

/** Methods whose trained state is a soft prompt (the only ones two-stage tuning applies to). */
const PROMPT_METHODS: readonly string[] = ["prompt-tuning", "deep-prompt-tuning"];

/** Throws naming the cell, task and template when the prompt position needs a slot the task's template lacks. */
function checkPromptSlots(cell: Cell, o: CellOptions, task: PreparedTask, taskName: string): void {
  const lengths = parsePosition(o.promptPosition, o.promptLength);
  const missing = PROMPT_SLOTS.filter((slot) => lengths[slot] > 0 && !task.template.slots().includes(slot));
  if (missing.length > 0) {
    throw new Error(
      `cell ${cell.cellId}: prompt position '${o.promptPosition}' needs slot(s) ${missing.join(", ")}, but task '${taskName}' offers only ` +
        `${task.template.slots().join(", ")} (template ${JSON.stringify(task.template.spec.pattern)})`,
    );
  }
}

/** Optimizer steps of stage 1 (0 without two-stage tuning). */
export function stage1StepsOf(o: CellOptions): number {
  return o.stage1Task === null ? 0 : (o.stage1Steps ?? o.steps);
}

/** The learning-rate schedule of a training stage of `steps` steps. */
function scheduleOf(o: CellOptions, lr: number, steps: number = o.steps): Schedule {
  switch (o.schedule) {
    case "constant":
      return { kind: "constant", lr };
    case "warmup-cosine":
      return { kind: "warmup-cosine", lr, warmupSteps: o.warmupSteps, totalSteps: steps, minRatio: 0.1 };
    case "warmup-linear":
      return { kind: "warmup-linear", lr, warmupSteps: o.warmupSteps, totalSteps: steps };
  }
}

/** models/NAME for a bare name, else the path as given (relative to the project root). */
export function backboneDir(name: string, root = projectRoot()): string {
  return name.includes("/") ? path.resolve(root, name) : path.join(root, "models", name);
}

export function projectRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json"))) {
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

/** Keeps `perClass` examples of each label, sampled with `seed`. */
export function fewShot(data: TaskData, perClass: number, seed: number): TaskData {
  const rng = new Rng(seed);
  const byLabel = new Map<string, number[]>();
  data.train.forEach((e, i) => byLabel.set(e.label, [...(byLabel.get(e.label) ?? []), i]));
  const keep = new Set<number>();
  for (const idx of byLabel.values()) rng.shuffle(idx).slice(0, perClass).forEach((i) => keep.add(i));
  return { ...data, train: data.train.filter((_, i) => keep.has(i)) };
}

function loadTaskData(name: string, dataSeed: number): TaskData {
  if (!(TASK_NAMES as readonly string[]).includes(name)) {
    throw new Error(`unknown task '${name}': expected one of ${TASK_NAMES.join(", ")}`);
  }
  return loadTask(name as TaskName, { seed: dataSeed });
}

/** Frequent task tokens (most frequent first), skipping special tokens and rare ones. */
export function frequentTokenIds(ids: readonly number[], skip: ReadonlySet<number>, max = 500): number[] {
  const counts = new Map<number, number>();
  for (const id of ids) if (!skip.has(id)) counts.set(id, (counts.get(id) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, max).map(([id]) => id);
}

/** Predicted label indices for items, in eval batches, plus tokens processed. */
export function predict(tuned: Tuned, items: readonly TaskItem[], batchSize: number): number[] {
  const preds: number[] = [];
  for (let i = 0; i < items.length; i += batchSize) {
    const chunk = items.slice(i, i + batchSize);
    const arg = tf.tidy(() => tf.argMax(tuned.scores(chunk.map((x) => x.seq), false), 1).dataSync() as Int32Array);
    preds.push(...arg);
  }
  return preds;
}

export function evaluateItems(tuned: Tuned, items: readonly TaskItem[], numClasses: number, batchSize: number): ClassificationMetrics {
  const pred = predict(tuned, items, batchSize);
  return classificationMetrics(items.map((x) => x.gold), pred, numClasses);
}

function tokenCount(items: readonly TaskItem[], promptLength: number): number {
  let n = 0;
  for (const it of items) for (const p of it.seq.pieces) n += p.kind === "tokens" ? p.ids.length : 0;
  return n + items.length * promptLength;
}

export interface CellProgress {
  onStep?(step: number, total: number, loss: number): void;
  onEval?(step: number, devAccuracy: number): void;
  /** Called once training and evaluation are done, before the method is disposed (e.g. to keep a trained prompt). */
  onTrained?(tuned: Tuned, task: PreparedTask): void;
}

/** Runs a cell end to end and returns its record. The backbone is loaded fresh (fine-tuning changes it). */
export async function runCell(cell: Cell, progress: CellProgress = {}, preloaded?: LoadedBackbone): Promise<RunRecord> {
  const startedAt = new Date();
  const o = resolveCellOptions(cell.options, `cell ${cell.cellId}`);
  const method = getMethod(cell.method);
  const backbone = preloaded ?? loadCheckpoint(backboneDir(cell.backbone));
  const tok = backbone.tokenizer;
  let data = loadTaskData(cell.task, o.dataSeed);
  if (o.trainPerClass !== null) data = fewShot(data, o.trainPerClass, cell.seed);
  const task = new PreparedTask(data, tok);
  const trainItems = task.items("train");
  const devItems = task.items("dev").slice(0, o.maxDev ?? undefined);
  const testItems = task.items("test").slice(0, o.maxTest ?? undefined);
  if (PROMPT_METHODS.includes(method.name)) checkPromptSlots(cell, o, task, cell.task);
  let stage1Task: PreparedTask | null = null;
  if (o.stage1Task !== null) {
    if (!PROMPT_METHODS.includes(method.name)) {
      throw new Error(`cell ${cell.cellId}: option stage1Task (two-stage prompt tuning) needs a prompt method (${PROMPT_METHODS.join(", ")}), got '${method.name}'`);
    }
    stage1Task = new PreparedTask(loadTaskData(o.stage1Task, o.dataSeed), tok);
    const words = (t: PreparedTask) => JSON.stringify(t.verbalizer.tokenIds);
    if (words(stage1Task) !== words(task) || stage1Task.labels.join() !== task.labels.join()) {
      throw new Error(
        `cell ${cell.cellId}: stage1Task '${o.stage1Task}' must have the same labels and label words as '${cell.task}' ` +
          `(got ${JSON.stringify(stage1Task.verbalizer.words)} vs ${JSON.stringify(task.verbalizer.words)})`,
      );
    }
    checkPromptSlots(cell, o, stage1Task, o.stage1Task);
  }
  const special = new Set([tok.padId, tok.bosId, tok.eosId, tok.unkId]);
  // Every forward pass of the cell (training, the memory probe, evaluation) follows the cell's setting; a preloaded
  // backbone gets its own setting back afterwards.
  const checkpointBefore = backbone.model.activationCheckpointing;
  backbone.model.setActivationCheckpointing(o.checkpoint);
  let tuned: Tuned;
  try {
    tuned = method.build({
      model: backbone.model,
      padId: tok.padId,
      candidates: task.verbalizer.tokenIds,
      seed: cell.seed,
      prompt: { length: o.promptLength, init: o.promptInit, position: o.promptPosition, initRange: o.initRange },
      frequentIds: frequentTokenIds(task.trainingTokenIds(tok), special),
      labelTokenIds: task.verbalizer.firstWordIds(),
    });
  } catch (err) {
    if (preloaded) backbone.model.setActivationCheckpointing(checkpointBefore);
    throw err;
  }
  const numClasses = task.labels.length;
  const lossOn = (items: readonly TaskItem[]) => (batch: number[]) => {
    const chosen = batch.map((i) => items[i]!);
    return classLoss(tuned.scores(chosen.map((x) => x.seq), true), chosen.map((x) => x.gold));
  };
  const lossFor = lossOn(trainItems);
  const s1Steps = stage1StepsOf(o);
  try {
    // Peak tensor memory of one training step (gradients included), or of one evaluation batch.
    const probeBatch = Array.from({ length: Math.min(o.batchSize, trainItems.length) }, (_, i) => i);
    const profile = await tf.profile(() => {
      if (method.trains) {
        const { value, grads } = tf.variableGrads(() => lossFor(probeBatch), tuned.trainable);
        value.dispose();
        Object.values(grads).forEach((g) => g.dispose());
      } else {
        tf.tidy(() => tuned.scores(probeBatch.map((i) => trainItems[i]!.seq), false));
      }
    });
    // Optimizer state (AdamW: two moments per trainable scalar; Adafactor: factored) is resident during training too.
    const stateBytes = method.trains ? 4 * optimizerStateSize(o.optimizer, tuned.trainable.map((v) => v.shape)) : 0;
    const peakTensorBytes = profile.peakBytes + stateBytes;
    let stage1: RunRecord["stage1"];
    const lr = o.lr ?? DEFAULT_LR[cell.method] ?? 1e-3;
    // One training stage on `items`, keeping the best prompt/weights on `dev`; its steps are reported after `offset`
    // earlier ones (stage 1 of two-stage tuning), its dev evaluations only when `reportEvals`.
    const trainStage = (items: readonly TaskItem[], dev: readonly TaskItem[], stageSteps: number, evalEvery: number, patience: number, offset: number, reportEvals: boolean) =>
      train(
        tuned.trainable,
        lossOn(items),
        items.length,
        () => evaluateItems(tuned, dev, numClasses, o.evalBatchSize).accuracy,
        {
          steps: stageSteps,
          batchSize: o.batchSize,
          schedule: scheduleOf(o, lr, stageSteps),
          weightDecay: o.weightDecay,
          clipNorm: o.clipNorm,
          optimizer: o.optimizer,
          evalEvery,
          patience,
          seed: cell.seed,
        },
        {
          onStep: (st) => progress.onStep?.(offset + st.step, s1Steps + o.steps, st.loss),
          onEval: reportEvals ? (e) => progress.onEval?.(e.step, e.score) : undefined,
        },
      );
    if (stage1Task !== null) {
      // Stage 1: tune the prompt on the related task (its own dev split picks the prompt that stage 2 starts from).
      const s1 = await trainStage(stage1Task.items("train"), stage1Task.items("dev").slice(0, o.maxDev ?? undefined), s1Steps, Math.min(o.evalEvery, s1Steps), 0, 0, false);
      stage1 = { task: o.stage1Task!, steps: s1.steps, devAccuracy: s1.bestScore, msPerStep: s1.msPerStep };
    }
    let steps = 0;
    let curve: RunRecord["curve"] = [];
    let devMetrics: ClassificationMetrics | null = null;
    let msPerStep = 0;
    let tokensPerSecond = 0;
    if (method.trains) {
      const result = await trainStage(trainItems, devItems, o.steps, o.evalEvery, o.patience, s1Steps, true);
      steps = result.steps;
      msPerStep = result.msPerStep;
      curve = result.curve.map((c) => ({ step: c.step, trainLoss: c.trainLoss, devAccuracy: c.devScore }));
      const avgTokens = tokenCount(trainItems, tuned.prompt?.length ?? 0) / trainItems.length;
      tokensPerSecond = msPerStep > 0 ? (avgTokens * Math.min(o.batchSize, trainItems.length)) / (msPerStep / 1000) : 0;
      devMetrics = evaluateItems(tuned, devItems, numClasses, o.evalBatchSize);
    }
    const metrics = evaluateItems(tuned, testItems, numClasses, o.evalBatchSize);
    progress.onTrained?.(tuned, task);
    const finishedAt = new Date();
    return {
      ...cellFields(cell),
      backbone: { name: cell.backbone, fingerprint: backbone.fingerprint },
      prompt: tuned.prompt,
      steps,
      metrics,
      devMetrics,
      curve,
      trainableParams: tuned.trainableParams,
      taskBytes: tuned.taskBytes,
      peakTensorBytes,
      wallSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
      msPerStep,
      tokensPerSecond,
      ...runEnvironment(),
      ...(stage1 ? { stage1 } : {}),
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
    };
  } finally {
    tuned.dispose();
    if (!preloaded) backbone.model.dispose();
    else backbone.model.setActivationCheckpointing(checkpointBefore);
  }
}

