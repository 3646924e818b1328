/**
 * LayerNorm over the last axis with a hand-written backward pass.
 *
 * Autodiff through the composed ops reduces gamma/beta gradients along axis 0, which wasm runs ~20x slower than
 * a [1, N] x [N, D] matmul; here they are column sums through `columnSum`. With `paramGrad: false` gamma and beta
 * are constants (frozen backbone) and only dx is computed.
 *
 *   y = xhat * gamma + beta,  xhat = (x - mean) * rstd,  rstd = 1 / sqrt(var + eps)
 *   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  g = dy * gamma
 *
 * With the native kernel set, forward and backward are single C passes (kernels/native-ops.ts) whose gradients
 * for gamma and beta are computed only when they train.
 */
import { tf } from "../backend/backend";
import { customOp } from "../backend/custom-op";
import { columnSum } from "../backend/linear";
import { activeKernels } from "../backend/kernels/kernel-set";
import { nativeLayerNorm } from "../backend/kernels/native-ops";

function normalize(x: tf.Tensor2D, eps: number): { xhat: tf.Tensor2D; rstd: tf.Tensor2D } {
  const mean = tf.mean(x, -1, true); // [N, 1]
  const centered = tf.sub(x, mean); // [N, D]
  const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centered), -1, true), eps)) as tf.Tensor2D; // [N, 1]
  return { xhat: tf.mul(centered, rstd) as tf.Tensor2D, rstd };
}

function inputGrad(g: tf.Tensor2D, xhat: tf.Tensor2D, rstd: tf.Tensor2D): tf.Tensor2D {
  const meanG = tf.mean(g, -1, true); // [N, 1]
  const meanGX = tf.mean(tf.mul(g, xhat), -1, true); // [N, 1]
  return tf.mul(tf.sub(tf.sub(g, meanG), tf.mul(xhat, meanGX)), rstd) as tf.Tensor2D;
}

const trainableLayerNorm = (eps: number) =>
  customOp<[tf.Tensor2D, tf.Tensor1D, tf.Tensor1D], tf.Tensor2D>(([x, gamma, beta], save) => {
    const { xhat, rstd } = normalize(x, eps);
    save([xhat, rstd, gamma]);
    return {
      value: tf.add(tf.mul(xhat, gamma), beta) as tf.Tensor2D,
      grad: (dy, [xh, rs, gm]) => {
        const xhat2 = xh as tf.Tensor2D;
        const g = tf.mul(dy, gm as tf.Tensor1D) as tf.Tensor2D;
        return [inputGrad(g, xhat2, rs as tf.Tensor2D), columnSum(tf.mul(dy, xhat2) as tf.Tensor2D), columnSum(dy)];
      },
    };
  });

const frozenLayerNorm = (gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number) =>
  customOp<[tf.Tensor2D], tf.Tensor2D>(([x], save) => {
    const { xhat, rstd } = normalize(x, eps);
    save([xhat, rstd]);
    return {
      value: tf.add(tf.mul(xhat, gamma), beta) as tf.Tensor2D,
      grad: (dy, [xh, rs]) => [inputGrad(tf.mul(dy, gamma) as tf.Tensor2D, xh as tf.Tensor2D, rs as tf.Tensor2D)],
    };
  });

/** x: [N, D], gamma/beta: [D] -> [N, D]. */
export function layerNorm(
  x: tf.Tensor2D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  eps: number,
  opts: { paramGrad: boolean },
): tf.Tensor2D {
  if (activeKernels() === "native") return nativeLayerNorm(x, gamma, beta, eps);
  return opts.paramGrad ? trainableLayerNorm(eps)(x, gamma, beta) : frozenLayerNorm(gamma, beta, eps)(x);
}
