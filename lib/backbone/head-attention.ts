/**
 * Causal attention from per-head queries, keys and values, with grouped-query attention (each key/value head
 * serves nHeads / nKvHeads consecutive query heads, as HF's repeat_kv). Used by the rotary families, whose q and k
 * are rotated between projection and attention. Scores scaled by 1/sqrt(dh); on the native kernel set one fused C
 * kernel (as GPT-2's attention), else products on the kit's batchMatMul with an additive causal bias.
 */
import { tf } from "../backend/backend";
import { batchMatMul } from "../backend/kernels/batch-matmul";
import { nativeAttention } from "../backend/kernels/native-ops";
import { maskPrefix, type AttentionMask } from "./attention";
import { withoutPrefixRows, withPrefixRows } from "./kv-prefix";

/**
 * q: [B*T, H, dh], k/v: [B*T, Hkv, dh], mask: see attentionMask -> context [B*T, H*dh]. A key/value prefix the mask
 * carries (kv-prefix.ts, [P, Hkv*dh], one row per prefix position) is placed before each batch row's keys and
 * values, unrotated: the caller has already rotated q and k.
 */
export function headAttention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  mask: AttentionMask,
  batch: number,
  length: number,
): tf.Tensor2D {
  const [n, h, dh] = q.shape;
  const hkv = k.shape[1];
  if (mask.capture) mask.capture(tf.reshape(k, [n, hkv * dh]), tf.reshape(v, [n, hkv * dh]));
  const prefix = maskPrefix(mask, hkv * dh, "headAttention");
  if (!prefix) return causalHeadAttention(q, k, v, mask, batch, length);
  const p = prefix.keys.shape[0];
  const t = length;
  const ext = (m: tf.Tensor3D, rows: tf.Tensor2D, heads: number): tf.Tensor3D =>
    tf.reshape(withPrefixRows(tf.reshape(m, [n, heads * dh]), rows, batch, t), [batch * (p + t), heads, dh]);
  const ctx = causalHeadAttention(
    ext(q, tf.zeros([p, h * dh]), h), // prefix rows ask nothing (their outputs are dropped)
    ext(k, prefix.keys, hkv),
    ext(v, prefix.values, hkv),
    mask,
    batch,
    p + t,
  ); // [B*(P+T), H*dh]
  return withoutPrefixRows(ctx, p, batch, t);
}

/** Causal attention over `length` rows per batch row (mask built for exactly those rows). */
function causalHeadAttention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  mask: AttentionMask,
  batch: number,
  length: number,
): tf.Tensor2D {
  const [n, h, dh] = q.shape;
  const hkv = k.shape[1];
  if (mask.keys) {
    // native: the fused kernel over [q | k | v] with every key/value head repeated for its query heads
    const wide = (m: tf.Tensor3D, heads: number): tf.Tensor2D =>
      heads === h
        ? tf.reshape(m, [n, h * dh])
        : tf.reshape(tf.tile(tf.reshape(m, [n, heads, 1, dh]), [1, 1, h / heads, 1]), [n, h * dh]);
    const qkv = tf.concat([wide(q, h), wide(k, hkv), wide(v, hkv)], 1) as tf.Tensor2D;
    return nativeAttention(qkv, mask.keys, { batch, length, heads: h });
  }
  const bias = mask.bias;
  if (!bias) throw new Error("headAttention: the mask has neither a bias nor a key mask");
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
