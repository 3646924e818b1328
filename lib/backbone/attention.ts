/**
 * Causal multi-head self-attention with a fused QKV projection.
 *
 * The batched score/context products (and their gradients) run on the kit's WebAssembly SIMD kernel: tfjs-wasm's
 * own batched matMul is a naive loop at ~3 GFLOP/s and took 40-60% of a step. Projections go through `linear`.
 */
import { tf } from "../backend/backend";
import { linear } from "../backend/linear";
import { batchMatMul } from "../backend/kernels/batch-matmul";

export interface AttentionWeights {
  readonly qkvW: tf.Tensor2D; // [D, 3D]
  readonly qkvB: tf.Tensor1D; // [3D]
  readonly projW: tf.Tensor2D; // [D, D]
  readonly projB: tf.Tensor1D; // [D]
}

/**
 * x: [B*T, D] (rows in batch-major order), bias: [B, 1, T, T] additive mask (0 or a large negative).
 * Returns [B*T, D].
 */
export function selfAttention(
  x: tf.Tensor2D,
  w: AttentionWeights,
  bias: tf.Tensor4D,
  dims: { batch: number; length: number; heads: number },
  weightGrad: boolean,
): tf.Tensor2D {
  const { batch: b, length: t, heads: h } = dims;
  const d = x.shape[1];
  const dh = d / h;
  const qkv = linear(x, w.qkvW, w.qkvB, { weightGrad }); // [B*T, 3D]
  const [q, k, v] = tf.split(qkv, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D]; // 3 x [B*T, D]
  const heads = (m: tf.Tensor2D) =>
    tf.reshape(tf.transpose(tf.reshape(m, [b, t, h, dh]), [0, 2, 1, 3]), [b * h, t, dh]) as tf.Tensor3D;
  const qh = heads(tf.mul(q, 1 / Math.sqrt(dh)) as tf.Tensor2D); // [B*H, T, dh], pre-scaled
  const kh = heads(k);
  const vh = heads(v);
  const scores = tf.reshape(batchMatMul(qh, kh, false, true), [b, h, t, t]); // [B, H, T, T]
  const probs = tf.reshape(tf.softmax(tf.add(scores, bias)), [b * h, t, t]); // [B*H, T, T]
  const ctx = batchMatMul(probs as tf.Tensor3D, vh, false, false); // [B*H, T, dh]
  const merged = tf.reshape(tf.transpose(tf.reshape(ctx, [b, h, t, dh]), [0, 2, 1, 3]), [b * t, d]) as tf.Tensor2D;
  return linear(merged, w.projW, w.projB, { weightGrad });
}

/**
 * Additive attention bias [B, 1, T, T] from a key mask (1 = real token, 0 = padding) and causality:
 * query i may attend to key j iff j <= i and mask[j] = 1.
 */
export function causalBias(mask: ArrayLike<number>, batch: number, length: number): tf.Tensor4D {
  const out = new Float32Array(batch * length * length);
  const NEG = -1e9;
  for (let bi = 0; bi < batch; bi++) {
    const base = bi * length * length;
    for (let i = 0; i < length; i++) {
      const row = base + i * length;
      for (let j = 0; j < length; j++) out[row + j] = j <= i && mask[bi * length + j] ? 0 : NEG;
    }
  }
  return tf.tensor4d(out, [batch, 1, length, length]);
}
