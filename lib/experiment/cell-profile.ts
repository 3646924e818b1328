/** What a cell costs: peak tensor memory of one training step (or evaluation batch), and training throughput. */
import { tf } from "../backend/backend";
import type { TaskItem } from "../tasks/prepared-task";
import { optimizerStateSize, type OptimizerName } from "../train/optimizer";
import type { Tuned } from "../tuning/method";

/**
 * Peak bytes held by tensors during one training step on the first `batchSize` items (gradients included), or
 * one evaluation batch for a method that does not train, plus the optimizer state that stays resident during
 * training (AdamW: two moments per trainable scalar; Adafactor: factored).
 */
export async function peakTensorBytes(
  tuned: Tuned,
  items: readonly TaskItem[],
  loss: (batch: number[]) => tf.Scalar,
  opts: { trains: boolean; batchSize: number; optimizer: OptimizerName },
): Promise<number> {
  const probe = Array.from({ length: Math.min(opts.batchSize, items.length) }, (_, i) => i);
  const profile = await tf.profile(() => {
    if (opts.trains) {
      const { value, grads } = tf.variableGrads(() => loss(probe), tuned.trainable);
      value.dispose();
      Object.values(grads).forEach((g) => g.dispose());
    } else {
      tf.tidy(() =>
        tuned.scores(
          probe.map((i) => items[i]!.seq),
          false,
        ),
      );
    }
  });
  const stateBytes = opts.trains
    ? 4 *
      optimizerStateSize(
        opts.optimizer,
        tuned.trainable.map((v) => v.shape),
      )
    : 0;
  return profile.peakBytes + stateBytes;
}

/** Training tokens per second: mean tokens per example (prompt included) x examples per step / seconds per step. */
export function tokensPerSecond(
  items: readonly TaskItem[],
  promptLength: number,
  batchSize: number,
  msPerStep: number,
): number {
  if (msPerStep <= 0 || items.length === 0) return 0;
  let n = 0;
  for (const it of items) for (const p of it.seq.pieces) n += p.kind === "tokens" ? p.ids.length : 0;
  const avgTokens = (n + items.length * promptLength) / items.length;
  return (avgTokens * Math.min(batchSize, items.length)) / (msPerStep / 1000);
}
