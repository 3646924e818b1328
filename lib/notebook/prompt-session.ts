/**
 * Prompt tuning in the notebook's own process, keeping the trained prompt: what runCell does for a
 * prompt-tuning cell (same options, defaults, data split, trainer and evaluation), except that the prompt
 * is returned (for the prompt library) instead of disposed, and the backbone is the caller's (loaded once,
 * left frozen). Use runCell / runCells for experiments; use this to train a prompt you want to keep.
 */
import { tf } from "../backend/backend";
import type { LoadedBackbone } from "../backbone/checkpoint";
import type { ClassificationMetrics } from "../eval/metrics";
import type { CurvePoint } from "../experiment/record";
import { DEFAULT_LR, evaluateItems, fewShot, frequentTokenIds, resolveCellOptions, scheduleOf, type CellOptions, type CellProgress } from "../experiment/run-cell";
import { PROMPT_SLOTS, parsePosition } from "../prompt/positions";
import type { PromptSet, PromptSettings } from "../prompt/soft-prompt";
import { loadTask, TASK_NAMES, type TaskName } from "../tasks/data/registry";
import { PreparedTask, type TaskItem } from "../tasks/prepared-task";
import { train } from "../train/trainer";
import type { MethodContext, Tuned } from "../tuning/method";
import { getMethod } from "../tuning/methods";
import { classLoss, classScores } from "../tuning/rank-scorer";

/** Cell options (see CELL_DEFAULTS) plus the training seed. */
export type PromptRunOptions = Partial<CellOptions> & { readonly seed?: number };

export interface PromptRun {
  readonly task: PreparedTask;
  /** The trained prompt (the dev-best checkpoint). The caller owns it: call prompts.dispose() when done. */
  readonly prompts: PromptSet;
  readonly settings: PromptSettings;
  readonly seed: number;
  readonly options: CellOptions;
  /** Test metrics (first `maxTest` test items). */
  readonly metrics: ClassificationMetrics;
  /** Dev metrics of the kept checkpoint. */
  readonly devMetrics: ClassificationMetrics;
  readonly curve: CurvePoint[];
  readonly steps: number;
  readonly msPerStep: number;
  readonly trainableParams: number;
}

/** Loads a built-in task by name with the cell's data seed (and few-shot sampling, if asked). */
export function prepareTask(backbone: LoadedBackbone, taskName: string, options: CellOptions, seed: number): PreparedTask {
  if (!(TASK_NAMES as readonly string[]).includes(taskName)) throw new Error(`unknown task '${taskName}': expected one of ${TASK_NAMES.join(", ")}`);
  let data = loadTask(taskName as TaskName, { seed: options.dataSeed });
  if (options.trainPerClass !== null) data = fewShot(data, options.trainPerClass, seed);
  return new PreparedTask(data, backbone.tokenizer);
}

/** The MethodContext runCell builds for a task (frequent tokens for sampled-vocab init, label words). */
export function methodContext(backbone: LoadedBackbone, task: PreparedTask, options: CellOptions, seed: number): MethodContext {
  const tok = backbone.tokenizer;
  const special = new Set([tok.padId, tok.bosId, tok.eosId, tok.unkId]);
  return {
    model: backbone.model,
    padId: tok.padId,
    candidates: task.verbalizer.tokenIds,
    seed,
    prompt: { length: options.promptLength, init: options.promptInit, position: options.promptPosition, initRange: options.initRange },
    frequentIds: frequentTokenIds(task.trainingTokenIds(tok), special),
    labelTokenIds: task.verbalizer.firstWordIds(),
  };
}

/** Test (or dev) metrics of a prompt (null: no prompt, i.e. zero-shot) on a task, first `max` items. */
export function evaluatePrompt(
  backbone: LoadedBackbone,
  task: PreparedTask,
  prompts: PromptSet | null,
  opts: { split?: "dev" | "test"; max?: number | null; batchSize?: number } = {},
): ClassificationMetrics {
  const items = task.items(opts.split ?? "test").slice(0, opts.max ?? undefined);
  const scorer: Tuned = {
    trainable: [],
    scores: (seqs) => classScores(backbone.model, prompts, seqs, task.verbalizer.tokenIds, { padId: backbone.tokenizer.padId, training: false }),
    trainableParams: 0,
    taskBytes: 0,
    prompt: prompts?.settings ?? null,
    prompts,
    dispose: () => undefined,
  };
  return evaluateItems(scorer, items, task.labels.length, opts.batchSize ?? 32);
}

/** Trains a soft prompt on `taskName` with runCell's procedure and returns it with its metrics and curve. */
export async function tunePrompt(backbone: LoadedBackbone, taskName: string, options: PromptRunOptions = {}, progress: CellProgress = {}): Promise<PromptRun> {
  const { seed = 0, ...cellOptions } = options;
  if (!Number.isInteger(seed)) throw new Error(`tunePrompt: seed must be an integer, got ${JSON.stringify(seed)}`);
  const o = resolveCellOptions(cellOptions, "tunePrompt");
  const task = prepareTask(backbone, taskName, o, seed);
  const lengths = parsePosition(o.promptPosition, o.promptLength);
  const missing = PROMPT_SLOTS.filter((s) => lengths[s] > 0 && !task.template.slots().includes(s));
  if (missing.length > 0) {
    throw new Error(`tunePrompt: position '${o.promptPosition}' needs slot(s) ${missing.join(", ")}, but task '${taskName}' offers only ${task.template.slots().join(", ")}`);
  }
  const tuned = getMethod("prompt-tuning").build(methodContext(backbone, task, o, seed));
  const trainItems = task.items("train");
  const devItems = task.items("dev").slice(0, o.maxDev ?? undefined);
  const testItems = task.items("test").slice(0, o.maxTest ?? undefined);
  const numClasses = task.labels.length;
  const batchLoss = (batch: number[]): tf.Scalar => {
    const items: TaskItem[] = batch.map((i) => trainItems[i]!);
    return classLoss(tuned.scores(items.map((x) => x.seq), true), items.map((x) => x.gold));
  };
  try {
    const result = await train(
      tuned.trainable,
      batchLoss,
      trainItems.length,
      () => evaluateItems(tuned, devItems, numClasses, o.evalBatchSize).accuracy,
      {
        steps: o.steps,
        batchSize: o.batchSize,
        schedule: scheduleOf(o, o.lr ?? DEFAULT_LR["prompt-tuning"]!),
        weightDecay: o.weightDecay,
        clipNorm: o.clipNorm,
        evalEvery: o.evalEvery,
        patience: o.patience,
        seed,
      },
      {
        onStep: (s) => progress.onStep?.(s.step, o.steps, s.loss),
        onEval: (e) => progress.onEval?.(e.step, e.score),
      },
    );
    return {
      task,
      prompts: tuned.prompts!,
      settings: tuned.prompt!,
      seed,
      options: o,
      metrics: evaluateItems(tuned, testItems, numClasses, o.evalBatchSize),
      devMetrics: evaluateItems(tuned, devItems, numClasses, o.evalBatchSize),
      curve: result.curve.map((c) => ({ step: c.step, trainLoss: c.trainLoss, devAccuracy: c.devScore })),
      steps: result.steps,
      msPerStep: result.msPerStep,
      trainableParams: tuned.trainableParams,
    };
  } catch (err) {
    tuned.dispose();
    throw err;
  }
}
