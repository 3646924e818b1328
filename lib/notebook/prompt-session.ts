/**
 * Prompt tuning in the notebook's own process, keeping the trained prompt: what runCell does for a
 * prompt-tuning cell (same options, defaults, data split, trainer and evaluation), except that the prompt
 * is returned (for the prompt library) instead of disposed, and the backbone is the caller's (loaded once,
 * left frozen). Use runCell / runCells for experiments; use this to train a prompt you want to keep.
 */
import type { LoadedBackbone } from "../backbone/checkpoint";
import type { ClassificationMetrics } from "../eval/metrics";
import { makeCell } from "../experiment/grid";
import type { CurvePoint } from "../experiment/record";
import { evaluateItems, resolveCellOptions, runCell, type CellOptions, type CellProgress } from "../experiment/run-cell";
import { PromptSet, type PromptSettings } from "../prompt/soft-prompt";
import type { PreparedTask } from "../tasks/prepared-task";
import type { Tuned } from "../tuning/method";
import { classScores } from "../tuning/rank-scorer";

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

/** Trains a soft prompt on `taskName` with runCell (same procedure, same record) and returns the prompt with it. */
export async function tunePrompt(backbone: LoadedBackbone, taskName: string, options: PromptRunOptions = {}, progress: CellProgress = {}): Promise<PromptRun> {
  const { seed = 0, ...cellOptions } = options;
  if (!Number.isInteger(seed)) throw new Error(`tunePrompt: seed must be an integer, got ${JSON.stringify(seed)}`);
  const o = resolveCellOptions(cellOptions, "tunePrompt");
  const cell = makeCell({ backbone: backbone.dir, task: taskName, method: "prompt-tuning", seed, options: { ...cellOptions } });
  let kept: { prompts: PromptSet; task: PreparedTask } | null = null;
  const record = await runCell(
    cell,
    {
      ...progress,
      onTrained: (tuned, task) => {
        kept = { prompts: PromptSet.fromArrays(tuned.prompts!.arrays(), backbone.config.dModel, tuned.prompts!.init), task };
        progress.onTrained?.(tuned, task);
      },
    },
    backbone,
  );
  const { prompts, task } = kept as unknown as { prompts: PromptSet; task: PreparedTask };
  return {
    task,
    prompts,
    settings: record.prompt!,
    seed,
    options: o,
    metrics: record.metrics,
    devMetrics: record.devMetrics!,
    curve: record.curve,
    steps: record.steps,
    msPerStep: record.msPerStep,
    trainableParams: record.trainableParams,
  };
}
