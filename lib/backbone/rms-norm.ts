/**
 * RMSNorm (Zhang & Sennrich 2019) as in Llama: y = x * rsqrt(mean(x^2) + eps) * weight, over the last axis.
 * Plain tfjs ops (autodiff); the weight is a constant when the backbone is frozen.
 */
import { tf } from "../backend/backend";

export function rmsNorm(x: tf.Tensor2D, weight: tf.Tensor1D, eps: number): tf.Tensor2D {
  const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps));
  return tf.mul(tf.mul(x, rstd), weight) as tf.Tensor2D;
}
