/**
 * Where a mixture-of-experts block gets its experts' weights. All-resident: the block's own variables. Offloaded
 * (expert-store.ts): a byte-bounded cache filled from the safetensors file on demand, whose schedule decides the
 * order experts are computed in (the ones already resident first). Either way the block combines the results in
 * expert order, so the schedule never changes a value.
 */
import type { tf } from "../../backend/backend";

/** One expert's MLP: c_fc [D, F] + [F], c_proj [F, D] + [D] (Conv1D layout [in, out], as the dense GPT-2 MLP). */
export interface ExpertWeights {
  readonly fcW: tf.Tensor2D;
  readonly fcB: tf.Tensor1D;
  readonly projW: tf.Tensor2D;
  readonly projB: tf.Tensor1D;
}

export const EXPERT_TENSORS = ["c_fc.weight", "c_fc.bias", "c_proj.weight", "c_proj.bias"] as const;

/** `mlp.experts.<e>.<tensor>` names of one expert, in ExpertWeights order. */
export function expertParamNames(e: number): string[] {
  return EXPERT_TENSORS.map((t) => `mlp.experts.${e}.${t}`);
}

export interface ExpertSource {
  /**
   * true: weights handed to `compute` stay valid for the whole forward and backward pass (all-resident), so the
   * ordinary tape can keep them; false: they may be evicted right after, so gradients recompute expert by
   * expert (moe-mlp.ts) and fetch them again.
   */
  readonly resident: boolean;
  /** Calls `compute(e, weights)` once for each expert in `needed` of block `layer`, in the source's order. */
  forEach(layer: number, needed: readonly number[], compute: (e: number, w: ExpertWeights) => void): void;
}

/** The block's own expert variables (w: the block's weights after the router, 4 per expert), in id order. */
export function residentSource(experts: readonly tf.Tensor[]): ExpertSource {
  return {
    resident: true,
    forEach(_layer, needed, compute) {
      for (const e of needed) {
        const [fcW, fcB, projW, projB] = experts.slice(4 * e, 4 * e + 4);
        compute(e, {
          fcW: fcW as tf.Tensor2D,
          fcB: fcB as tf.Tensor1D,
          projW: projW as tf.Tensor2D,
          projB: projB as tf.Tensor1D,
        });
      }
    },
  };
}
