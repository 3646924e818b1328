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
import { checkLayerPrefix, prefixedMask, withoutPrefixRows, withPrefixRows, type LayerPrefix } from "./kv-prefix";

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
 *
 * With key/value prefixes (kv-prefix.ts) the mask covers the extended sequence of P + T rows per batch row (the P
 * prefix rows always visible), and `prefix` holds the current layer's keys and values (set per layer by the
 * Transformer; the families pass the mask through unchanged).
 */
export interface AttentionMask {
  readonly bias: tf.Tensor4D | null;
  readonly keys: tf.Tensor1D | null;
  /** P, the key/value prefix length the mask was built for (0: no prefix). */
  readonly prefixLength?: number;
  /** this layer's prefix keys and values [P, Hkv * dh] when prefixLength > 0. */
  readonly prefix?: LayerPrefix;
  /** called with this layer's own keys (rotated, for rotary families) and values [B*T, Hkv * dh] (no prefix). */
  readonly capture?: (keys: tf.Tensor2D, values: tf.Tensor2D) => void;
}

/**
 * The mask for the active kernel set (tensors live in the caller's scope, like any other tensor). mask: B*T flags of
 * the real rows; prefixLength: P key/value prefix rows every query also sees (default 0).
 */
export function attentionMask(mask: ArrayLike<number>, batch: number, length: number, prefixLength = 0): AttentionMask {
  const flags = prefixLength > 0 ? prefixedMask(mask, prefixLength, batch, length) : mask;
  const rows = length + prefixLength;
  const extra = prefixLength > 0 ? { prefixLength } : {};
  if (activeKernels() === "native") return { bias: null, keys: tf.tensor1d(Float32Array.from(flags)), ...extra };
  return { bias: causalBias(flags, batch, rows), keys: null, ...extra };
}

/** The layer prefix a mask carries, checked against the key/value width; null without a prefix. */
export function maskPrefix(mask: AttentionMask, width: number, where: string): LayerPrefix | null {
  const p = mask.prefixLength ?? 0;
  if (p === 0) return null;
  if (!mask.prefix) throw new Error(`${where}: the mask was built for a ${p}-row key/value prefix but carries none`);
  checkLayerPrefix(mask.prefix, p, width, where);
  return mask.prefix;
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
  const { batch: b, length: t } = dims;
  const d = x.shape[1];
  const qkv = linear(x, w.qkvW, w.qkvB, { weightGrad }); // [B*T, 3D]
  if (mask.capture) mask.capture(tf.slice(qkv, [0, d], [-1, d]), tf.slice(qkv, [0, 2 * d], [-1, d]));
  const prefix = maskPrefix(mask, d, "selfAttention");
  if (!prefix) return linear(attentionContext(qkv, mask, dims), w.projW, w.projB, { weightGrad });
  // Key/value prefix: [0 | k | v] rows before each batch row's own, attention over P + T rows, prefix rows dropped.
  const p = prefix.keys.shape[0];
  const rows = tf.concat([tf.zeros([p, d]), prefix.keys, prefix.values], 1) as tf.Tensor2D; // [P, 3D]
  const ctx = attentionContext(withPrefixRows(qkv, rows, b, t), mask, { ...dims, length: p + t }); // [B*(P+T), D]
  return linear(withoutPrefixRows(ctx, p, b, t), w.projW, w.projB, { weightGrad });
}

/** Causal attention context [B*T, D] from fused q/k/v rows [B*T, 3D]. */
function attentionContext(
  qkv: tf.Tensor2D,
  mask: AttentionMask,
  dims: { batch: number; length: number; heads: number },
): tf.Tensor2D {
  const { batch: b, length: t, heads: h } = dims;
  const d = qkv.shape[1] / 3;
  const dh = d / h;
  if (mask.keys) {
    // native: scores, masked softmax and context per head in one kernel reading q/k/v in place
    return nativeAttention(qkv, mask.keys, dims);
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
  return tf.reshape(tf.transpose(tf.reshape(ctx, [b, h, t, dh]), [0, 2, 1, 3]), [b * t, d]) as tf.Tensor2D;
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
