/**
 * The pre-training loss of a mixture-of-experts model: next-token cross-entropy plus router_aux_loss_coef times
 * the Switch load-balancing loss summed over the MoE blocks (moe-probe.ts), with the last step's aux loss and
 * dropped-assignment rate kept for the progress line. Validation perplexity stays the LM loss alone.
 */
import { tf } from "../backend/backend";
import type { TransformerConfig } from "../backbone/config";
import { lmLoss } from "../backbone/lm-loss";
import { moeSettings } from "../backbone/moe/moe-config";
import { totalAuxLoss, withMoeProbe } from "../backbone/moe/moe-probe";
import type { TokenBatch } from "./batches";
import type { Transformer } from "../backbone/transformer";

export interface MoeLoss {
  readonly loss: (model: Transformer, batch: TokenBatch) => tf.Scalar;
  /** the last step's summed aux loss and the fraction of expert assignments dropped for capacity. */
  readonly last: () => { aux: number; dropped: number };
}

/** The MoE pre-training loss for `config`, or null for a dense config. */
export function moeLoss(config: TransformerConfig): MoeLoss | null {
  const s = moeSettings(config);
  if (!s) return null;
  let last = { aux: NaN, dropped: NaN };
  return {
    loss(model, b) {
      const { value: lm, probe } = withMoeProbe(() => lmLoss(model, b.ids, b.mask, b.batch, b.length, true));
      const aux = totalAuxLoss(probe);
      let assigned = 0;
      let dropped = 0;
      for (const r of probe.routing) {
        assigned += r.rows * s.expertsPerToken;
        dropped += r.droppedAssignments;
      }
      last = { aux: aux.dataSync()[0]!, dropped: assigned > 0 ? dropped / assigned : 0 };
      return tf.add(lm, tf.mul(aux, s.routerAuxLossCoef)) as tf.Scalar;
    },
    last: () => last,
  };
}
