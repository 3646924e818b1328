/**
 * Runs one grid cell: load the backbone and task, build the method, train (if it trains) with early stopping on
 * the dev split, evaluate on the test split, and return a RunRecord. Everything a cell needs is in its config,
 * so a cell runs the same in this process or in a worker process.
 *
 * The parts live beside this file: options and their checks (cell-options.ts), paths (project-paths.ts), task
 * data and few-shot sampling (cell-tasks.ts, few-shot.ts), building the method (cell-method.ts), memory and
 * throughput (cell-profile.ts), evaluation (evaluate.ts) and the record (cell-record.ts).
 */
import type { tf } from "../backend/backend";
import { loadCheckpoint, type LoadedBackbone } from "../backbone/checkpoint";
import { loadOffloaded, type OffloadedBackbone } from "../backbone/moe/offload";
import type { PreparedTask, TaskItem } from "../tasks/prepared-task";
import { train, type TrainResult } from "../train/trainer";
import { getMethod } from "../tuning/methods";
import { classLoss } from "../tuning/rank-scorer";
import type { Method, Tuned } from "../tuning/method";
import {
  cellLearningRate,
  checkOptionsForMethod,
  resolveCellOptions,
  scheduleOf,
  stage1StepsOf,
  type CellOptions,
} from "./cell-options";
import { buildCellMethod } from "./cell-method";
import { peakTensorBytes, tokensPerSecond } from "./cell-profile";
import { cellRecord, type CellOutcome } from "./cell-record";
import { prepareCellTasks, type CellTasks } from "./cell-tasks";
import { evaluateItems } from "./evaluate";
import type { Cell } from "./grid";
import { backboneDir } from "./project-paths";
import type { RunRecord } from "./record";

// The names callers have always imported from here.
export { CELL_DEFAULTS, DEFAULT_LR, resolveCellOptions, stage1StepsOf, type CellOptions } from "./cell-options";
export { backboneDir, projectRoot } from "./project-paths";
export { fewShot } from "./few-shot";
export { frequentTokenIds } from "./cell-method";
export { predict, evaluateItems } from "./evaluate";

export interface CellProgress {
  onStep?(step: number, total: number, loss: number): void;
  onEval?(step: number, devAccuracy: number): void;
  /** Called once training and evaluation are done, before the method is disposed (e.g. to keep a trained prompt). */
  onTrained?(tuned: Tuned, task: PreparedTask): void;
}

/** Runs a cell end to end and returns its record. The backbone is loaded fresh (fine-tuning changes it). */
export async function runCell(cell: Cell, progress: CellProgress = {}, preloaded?: LoadedBackbone): Promise<RunRecord> {
  const startedAt = new Date();
  const where = `cell ${cell.cellId}`;
  const o = resolveCellOptions(cell.options, where);
  const method = getMethod(cell.method);
  checkOptionsForMethod(o, method, where);
  const backbone =
    preloaded ??
    (o.expertMemory !== null
      ? loadOffloaded(backboneDir(cell.backbone), o.expertMemory)
      : loadCheckpoint(backboneDir(cell.backbone)));
  // Every forward pass of the cell (training, the memory probe, evaluation) follows the cell's setting; a preloaded
  // backbone gets its own setting back afterwards.
  const checkpointBefore = backbone.model.activationCheckpointing;
  let tuned: Tuned | null = null;
  try {
    const data = await prepareCellTasks(cell, o, method, backbone.tokenizer);
    backbone.model.setActivationCheckpointing(o.checkpoint);
    tuned = buildCellMethod(method, cell, o, backbone, data.task);
    const outcome = await trainAndEvaluate({ cell, o, method, tuned, data, progress });
    progress.onTrained?.(tuned, data.task);
    return cellRecord(
      cell,
      backbone.fingerprint,
      tuned,
      { ...outcome, truncation: data.truncation, testLabels: data.testLabels },
      startedAt,
    );
  } finally {
    tuned?.dispose();
    if (!preloaded) {
      backbone.model.dispose();
      if ("store" in backbone) (backbone as OffloadedBackbone).store.close();
    } else backbone.model.setActivationCheckpointing(checkpointBefore);
  }
}

interface CellRun {
  readonly cell: Cell;
  readonly o: CellOptions;
  readonly method: Method;
  readonly tuned: Tuned;
  readonly data: CellTasks;
  readonly progress: CellProgress;
}

/** One training stage: train on `items`, keep the best prompt/weights on `dev`. */
interface TrainStage {
  readonly items: readonly TaskItem[];
  readonly dev: readonly TaskItem[];
  readonly steps: number;
  readonly evalEvery: number;
  readonly patience: number;
  /** steps taken by earlier stages (progress reports count on from here). */
  readonly stepOffset: number;
  /** report this stage's dev evaluations to `progress.onEval`. */
  readonly reportEvals: boolean;
}

/** Profiles, trains (stage 1 of two-stage tuning first, when set) and evaluates a built method. */
async function trainAndEvaluate(run: CellRun): Promise<CellOutcome> {
  const { o, method, tuned, data } = run;
  const numClasses = data.task.labels.length;
  const evaluate = (items: readonly TaskItem[]) => evaluateItems(tuned, items, numClasses, o.evalBatchSize);
  const peak = await peakTensorBytes(tuned, data.train, lossOn(tuned, data.train), {
    trains: method.trains,
    batchSize: o.batchSize,
    optimizer: o.optimizer,
  });
  const s1Steps = stage1StepsOf(o);
  let stage1: CellOutcome["stage1"];
  if (data.stage1 !== null) {
    // Stage 1: tune the prompt on the related task (its own dev split picks the prompt that stage 2 starts from).
    const s1 = await trainStage(run, {
      items: data.stage1.train,
      dev: data.stage1.dev,
      steps: s1Steps,
      evalEvery: Math.min(o.evalEvery, s1Steps),
      patience: 0,
      stepOffset: 0,
      reportEvals: false,
    });
    stage1 = { task: data.stage1.name, steps: s1.steps, devAccuracy: s1.bestScore, msPerStep: s1.msPerStep };
  }
  if (!method.trains) {
    return {
      steps: 0,
      metrics: evaluate(data.test),
      devMetrics: null,
      curve: [],
      peakTensorBytes: peak,
      msPerStep: 0,
      tokensPerSecond: 0,
      ...(stage1 ? { stage1 } : {}),
    };
  }
  const result = await trainStage(run, {
    items: data.train,
    dev: data.dev,
    steps: o.steps,
    evalEvery: o.evalEvery,
    patience: o.patience,
    stepOffset: s1Steps,
    reportEvals: true,
  });
  return {
    steps: result.steps,
    metrics: evaluate(data.test),
    devMetrics: evaluate(data.dev),
    curve: result.curve.map((c) => ({ step: c.step, trainLoss: c.trainLoss, devAccuracy: c.devScore })),
    peakTensorBytes: peak,
    msPerStep: result.msPerStep,
    tokensPerSecond: tokensPerSecond(data.train, tuned.prompt?.length ?? 0, o.batchSize, result.msPerStep),
    ...(stage1 ? { stage1 } : {}),
  };
}

/** The training loss of a batch of indices into `items`. */
function lossOn(tuned: Tuned, items: readonly TaskItem[]): (batch: number[]) => tf.Scalar {
  return (batch) => {
    const chosen = batch.map((i) => items[i]!);
    return classLoss(
      tuned.scores(
        chosen.map((x) => x.seq),
        true,
      ),
      chosen.map((x) => x.gold),
    );
  };
}

/** Trains one stage; a diverged or non-finite run fails naming the cell and the learning rate it used. */
async function trainStage(run: CellRun, stage: TrainStage): Promise<TrainResult> {
  const { cell, o, method, tuned, data, progress } = run;
  const lr = cellLearningRate(o, method);
  const total = stage1StepsOf(o) + o.steps;
  try {
    return await train(
      tuned.trainable,
      lossOn(tuned, stage.items),
      stage.items.length,
      () => evaluateItems(tuned, stage.dev, data.task.labels.length, o.evalBatchSize).accuracy,
      {
        steps: stage.steps,
        batchSize: o.batchSize,
        schedule: scheduleOf(o, lr, stage.steps),
        weightDecay: o.weightDecay,
        clipNorm: o.clipNorm,
        optimizer: o.optimizer,
        evalEvery: stage.evalEvery,
        patience: stage.patience,
        seed: cell.seed,
      },
      {
        onStep: (st) => progress.onStep?.(stage.stepOffset + st.step, total, st.loss),
        onEval: stage.reportEvals ? (e) => progress.onEval?.(e.step, e.score) : undefined,
      },
    );
  } catch (err) {
    const lrText = o.lr === null ? `the default lr ${lr} of ${method.name}` : `lr ${lr}`;
    throw new Error(
      `cell ${cell.cellId} (${cell.task}/${cell.method} seed=${cell.seed}) with ${lrText}: ${(err as Error).message}`,
    );
  }
}
