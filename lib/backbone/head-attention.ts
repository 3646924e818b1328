/**
 * Causal attention from per-head queries, keys and values, with grouped-query attention (each key/value head
 * serves nHeads / nKvHeads consecutive query heads, as HF's repeat_kv). Used by the rotary families, whose q and k
 * are rotated between projection and attention. Scores scaled by 1/sqrt(dh); products on the kit's batchMatMul.
 */
import { tf } from "../backend/backend";
import { batchMatMul } from "../backend/kernels/batch-matmul";

/** q: [B*T, H, dh], k/v: [B*T, Hkv, dh], bias: [B, 1, T, T] -> context [B*T, H*dh]. */
export function headAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, bias: tf.Tensor4D, batch: number, length: number): tf.Tensor2D {
  const [, h, dh] = q.shape;
  const hkv = k.shape[1];
  const b = batch;
  const t = length;
  const rep = h / hkv;
  const toHeads = (m: tf.Tensor3D, n: number) => tf.transpose(tf.reshape(m, [b, t, n, dh]), [0, 2, 1, 3]); // [B, n, T, dh]
  const expand = (m: tf.Tensor3D): tf.Tensor3D => {
    const x = toHeads(m, hkv);
    if (rep === 1) return tf.reshape(x, [b * h, t, dh]);
    const tiled = tf.tile(tf.reshape(x, [b, hkv, 1, t * dh]), [1, 1, rep, 1]); // [B, Hkv, rep, T*dh]
    return tf.reshape(tiled, [b * h, t, dh]);
  };
  const qh = tf.reshape(toHeads(tf.mul(q, 1 / Math.sqrt(dh)) as tf.Tensor3D, h), [b * h, t, dh]) as tf.Tensor3D;
  const kh = expand(k);
  const vh = expand(v);
  const scores = tf.reshape(batchMatMul(qh, kh, false, true), [b, h, t, t]);
  const probs = tf.reshape(tf.softmax(tf.add(scores, bias)), [b * h, t, t]) as tf.Tensor3D;
  const ctx = batchMatMul(probs, vh, false, false); // [B*H, T, dh]
  return tf.reshape(tf.transpose(tf.reshape(ctx, [b, h, t, dh]), [0, 2, 1, 3]), [b * t, h * dh]) as tf.Tensor2D;
}
