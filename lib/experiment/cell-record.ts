/** Assembles a cell's RunRecord from what its run measured (see record.ts for the fields and their units). */
import type { ClassificationMetrics } from "../eval/metrics";
import type { TruncationCount } from "../tasks/prepared-task";
import type { Tuned } from "../tuning/method";
import { runEnvironment } from "./environment";
import type { Cell } from "./grid";
import { cellFields, type RunRecord } from "./record";

/** What training and evaluation of a cell measured. */
export interface CellOutcome {
  readonly steps: number;
  readonly metrics: ClassificationMetrics;
  readonly devMetrics: ClassificationMetrics | null;
  readonly curve: RunRecord["curve"];
  readonly peakTensorBytes: number;
  readonly msPerStep: number;
  readonly tokensPerSecond: number;
  readonly stage1?: RunRecord["stage1"];
  /** examples the task's template cut, per split (see PreparedTask.truncation). */
  readonly truncation?: TruncationCount;
  /** gold labels of the evaluated test examples, per label name. */
  readonly testLabels?: Record<string, number>;
}

export function cellRecord(
  cell: Cell,
  fingerprint: string,
  tuned: Tuned,
  outcome: CellOutcome,
  startedAt: Date,
  finishedAt = new Date(),
): RunRecord {
  const { stage1, truncation, testLabels, ...measured } = outcome;
  return {
    ...cellFields(cell),
    backbone: { name: cell.backbone, fingerprint },
    prompt: tuned.prompt,
    ...measured,
    trainableParams: tuned.trainableParams,
    taskBytes: tuned.taskBytes,
    wallSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    ...runEnvironment(),
    ...(stage1 ? { stage1 } : {}),
    ...(truncation ? { truncation } : {}),
    ...(testLabels ? { testLabels } : {}),
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
  };
}
