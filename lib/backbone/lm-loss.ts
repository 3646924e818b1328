/**
 * Causal language-modelling loss: mean next-token cross-entropy over real (unmasked) positions.
 */
import { tf } from "../backend/backend";
import { crossEntropy } from "../backend/cross-entropy";
import type { Transformer } from "./transformer";

/** Next-token targets and weights for a [B, T] batch: row t predicts token t+1 when both are real tokens. */
export function nextTokenTargets(
  ids: Int32Array,
  mask: ArrayLike<number>,
  batch: number,
  length: number,
): { targets: Int32Array; weights: Float32Array } {
  const targets = new Int32Array(batch * length);
  const weights = new Float32Array(batch * length);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t + 1 < length; t++) {
      const i = b * length + t;
      if (mask[i] && mask[i + 1]) {
        targets[i] = ids[i + 1]!;
        weights[i] = 1;
      }
    }
  }
  return { targets, weights };
}

/** ids, mask: B*T row-major. Returns the scalar mean loss (nats per predicted token). */
export function lmLoss(
  model: Transformer,
  ids: Int32Array,
  mask: ArrayLike<number>,
  batch: number,
  length: number,
  training = true,
): tf.Scalar {
  const { targets, weights } = nextTokenTargets(ids, mask, batch, length);
  const x = model.embed(ids, batch, length);
  const hidden = model.forwardEmbeddings(x, mask, { training });
  const logits = model.logits(tf.reshape(hidden, [batch * length, model.config.dModel]));
  return crossEntropy(logits, targets, weights);
}
