/**
 * The part of an optimizer step every optimizer shares: loss and gradients of exactly its variables, the global
 * gradient norm, a refusal (before any update) when either is not finite, and the clipping scale. The optimizer
 * supplies only its update rule.
 */
import { tf } from "../backend/backend";
import { activeKernels } from "../backend/kernels/kernel-set";
import { nativeSumSquares } from "../backend/kernels/native-ops";

export interface StepResult {
  readonly loss: number;
  /** global gradient norm before clipping. */
  readonly gradNorm: number;
}

export class NonFiniteLossError extends Error {
  constructor(
    readonly loss: number,
    readonly gradNorm: number,
    readonly atStep: number,
  ) {
    super(
      `training stopped: loss ${loss}, gradient norm ${gradNorm} at step ${atStep} (not finite); no update was applied`,
    );
    this.name = "NonFiniteLossError";
  }
}

/**
 * Computes `lossFn` and its gradients w.r.t. `vars`, then calls `update(grads, scale)` with `scale` the factor
 * that clips the global norm to `clipNorm` (1 when clipNorm is 0 or the norm is within it). Throws
 * NonFiniteLossError (naming `step`) without calling `update` when the loss or norm is not finite. Gradients are
 * disposed afterwards.
 */
export function gradientStep(
  vars: readonly tf.Variable[],
  lossFn: () => tf.Scalar,
  clipNorm: number,
  step: number,
  update: (grads: tf.Tensor[], scale: number) => void,
): StepResult {
  const { value, grads } = tf.variableGrads(lossFn, vars as tf.Variable[]);
  try {
    const loss = value.dataSync()[0]!;
    // A variable the loss did not touch this step (a mixture-of-experts expert no token was routed to) has
    // gradient zero; tfjs leaves it out of `grads`.
    const gs = vars.map((v) => grads[v.name] ?? (grads[v.name] = tf.zerosLike(v)));
    const norm = Math.sqrt(
      activeKernels() === "native"
        ? gs.reduce((s, g) => s + nativeSumSquares(g), 0)
        : tf.tidy(() => tf.addN(gs.map((g) => tf.sum(tf.square(g)))).dataSync()[0]!),
    );
    if (!Number.isFinite(loss) || !Number.isFinite(norm)) throw new NonFiniteLossError(loss, norm, step);
    update(gs, clipNorm > 0 && norm > clipNorm ? clipNorm / norm : 1);
    return { loss, gradNorm: norm };
  } finally {
    value.dispose();
    Object.values(grads).forEach((g) => g.dispose());
  }
}
