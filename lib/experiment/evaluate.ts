/** Evaluation of a tuned model on task items: predicted labels in batches, then classification metrics. */
import { tf } from "../backend/backend";
import { classificationMetrics, type ClassificationMetrics } from "../eval/metrics";
import type { TaskItem } from "../tasks/prepared-task";
import type { Tuned } from "../tuning/method";

/** Predicted label indices for items, scored in batches of `batchSize`. */
export function predict(tuned: Tuned, items: readonly TaskItem[], batchSize: number): number[] {
  const preds: number[] = [];
  for (let i = 0; i < items.length; i += batchSize) {
    const chunk = items.slice(i, i + batchSize);
    const arg = tf.tidy(
      () =>
        tf
          .argMax(
            tuned.scores(
              chunk.map((x) => x.seq),
              false,
            ),
            1,
          )
          .dataSync() as Int32Array,
    );
    preds.push(...arg);
  }
  return preds;
}

export function evaluateItems(
  tuned: Tuned,
  items: readonly TaskItem[],
  numClasses: number,
  batchSize: number,
): ClassificationMetrics {
  const pred = predict(tuned, items, batchSize);
  return classificationMetrics(
    items.map((x) => x.gold),
    pred,
    numClasses,
  );
}
