/**
 * Causal multi-head self-attention with a fused QKV projection.
 *
 * The batched score/context products (and their gradients) run on the kit's WebAssembly SIMD kernel: tfjs-wasm's
 * own batched matMul is a naive loop at ~3 GFLOP/s and took 40-60% of a step. Projections go through `linear`.
 * With the native kernel set the whole core (per-head scores, causal masked softmax, context, and its backward
 * pass) is one C kernel over the fused QKV output, with no head split, transpose or bias tensor.
 */
import { tf } from "../backend/backend";
import { linear } from "../backend/linear";
import { batchMatMul } from "../backend/kernels/batch-matmul";
import { activeKernels } from "../backend/kernels/kernel-set";
import { nativeAttention } from "../backend/kernels/native-ops";

export interface AttentionWeights {
  readonly qkvW: tf.Tensor2D; // [D, 3D]
  readonly qkvB: tf.Tensor1D; // [3D]
  readonly projW: tf.Tensor2D; // [D, D]
  readonly projB: tf.Tensor1D; // [D]
}

/**
 * Which keys each query may attend to: causal, and only real (mask = 1) keys. Built once per forward pass and
 * shared by every layer: the additive bias [B, 1, T, T] for the tfjs-op path, or the key mask [B*T] that the native
 * attention kernel applies itself.
 */
export interface AttentionMask {
  readonly bias: tf.Tensor4D | null;
  readonly keys: tf.Tensor1D | null;
}

/** The mask for the active kernel set (tensors live in the caller's scope, like any other tensor). */
export function attentionMask(mask: ArrayLike<number>, batch: number, length: number): AttentionMask {
  if (activeKernels() === "native") return { bias: null, keys: tf.tensor1d(Float32Array.from(mask)) };
  return { bias: causalBias(mask, batch, length), keys: null };
}

/**
 * x: [B*T, D] (rows in batch-major order), mask: see attentionMask. Returns [B*T, D].
 */
export function selfAttention(
  x: tf.Tensor2D,
  w: AttentionWeights,
  mask: AttentionMask,
  dims: { batch: number; length: number; heads: number },
  weightGrad: boolean,
): tf.Tensor2D {
  const { batch: b, length: t, heads: h } = dims;
  const d = x.shape[1];
  const dh = d / h;
  const qkv = linear(x, w.qkvW, w.qkvB, { weightGrad }); // [B*T, 3D]
  if (mask.keys) {
    // native: scores, masked softmax and context per head in one kernel reading q/k/v in place
    return linear(nativeAttention(qkv, mask.keys, dims), w.projW, w.projB, { weightGrad });
  }
  const bias = mask.bias;
  if (!bias) throw new Error("selfAttention: the mask has neither a bias nor a key mask");
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
