/**
 * Key/value prefixes (prefix tuning, Li & Liang 2021; P-tuning v2, Liu et al. 2022): P extra keys and values per
 * attention layer that every real query attends to. They are not queries, produce no outputs and take no position:
 * rotary is not applied to them (as Hugging Face's past_key_values, which hold already-rotated keys). How the real
 * tokens are numbered is the prefix's `positions`: "from-0" (the default; positionsFromMask on the real tokens' mask)
 * or "after-prefix" (P, P+1, ...: what Hugging Face does when PEFT passes the prefix as past_key_values, so such a
 * prefix can be exported as a PEFT PREFIX_TUNING adapter; lib/prompt/peft/prefix-tuning.ts).
 *
 * The one hook lives in the shared attention path (attention.ts for GPT-2's fused QKV, head-attention.ts for the
 * rotary families): both insert the prefix with `withPrefixRows` and run their usual causal attention over the
 * extended sequence [prefix_1..P, token_1..T] of each batch row, then drop the P prefix rows of the output with
 * `withoutPrefixRows`. Causality and the key mask then give exactly the prefix semantics: query t sees all P prefix
 * keys (mask 1) and the real keys <= t that are not padding. The prefix rows' own queries are zeros and their
 * outputs are discarded (their upstream gradient is zero), so they change nothing. This keeps one implementation
 * for every kernel set (the native fused kernel, wasm and tfjs ops) and every family.
 */
import { tf } from "../backend/backend";
import type { BlockAux } from "./family";

/** One layer's prefix: keys and values [P, Hkv * dh], columns head-major (as a k/v projection's output). */
export interface LayerPrefix {
  readonly keys: tf.Tensor2D;
  readonly values: tf.Tensor2D;
}

/**
 * How the real tokens are numbered next to a key/value prefix of length P: "from-0" (0, 1, ..., as without a prefix)
 * or "after-prefix" (P, P+1, ..., as a KV cache of P tokens would number them; Hugging Face's numbering).
 */
export const PREFIX_POSITIONS = ["from-0", "after-prefix"] as const;
export type PrefixPositions = (typeof PREFIX_POSITIONS)[number];

/** The prefixes of a forward pass: the same length P at every layer. */
export interface KvPrefix {
  readonly length: number;
  /** how the real tokens are numbered (default "from-0"); a forward pass given explicit positions uses those. */
  readonly positions?: PrefixPositions;
  /** layer i's keys and values (0 .. nLayers-1); called once per layer inside the forward pass. */
  layer(i: number): LayerPrefix;
}

/** Receives layer `layer`'s own keys (after rotary) and values [B*T, Hkv * dh] (ForwardOptions.captureKv). */
export type KvCapture = (layer: number, keys: tf.Tensor2D, values: tf.Tensor2D) => void;

/** The block constants with one layer's key/value prefix on the attention mask (unchanged without a prefix). */
export function withLayerPrefix(aux: BlockAux, pre: LayerPrefix | null): BlockAux {
  return pre ? { ...aux, mask: { ...aux.mask, prefix: pre } } : aux;
}

/** The block constants with a key/value capture for layer `i` on the attention mask (unchanged without one). */
export function withCapture(aux: BlockAux, i: number, capture: KvCapture | undefined): BlockAux {
  return capture ? { ...aux, mask: { ...aux.mask, capture: (k, v) => capture(i, k, v) } } : aux;
}

/**
 * rows [B*T, C] -> [B*(P+T), C]: each batch row's P prefix rows `prefix` [P, C] placed before its T rows.
 */
export function withPrefixRows(rows: tf.Tensor2D, prefix: tf.Tensor2D, batch: number, length: number): tf.Tensor2D {
  const [p, c] = prefix.shape;
  if (rows.shape[1] !== c) throw new Error(`withPrefixRows: rows have width ${rows.shape[1]}, the prefix ${c}`);
  const x = tf.reshape(rows, [batch, length, c]); // [B, T, C]
  const pre = batch === 1 ? tf.reshape(prefix, [1, p, c]) : tf.tile(tf.reshape(prefix, [1, p, c]), [batch, 1, 1]); // [B, P, C]
  return tf.reshape(tf.concat([pre, x], 1), [batch * (p + length), c]) as tf.Tensor2D;
}

/** [B*(P+T), C] -> [B*T, C]: drops each batch row's first P rows. */
export function withoutPrefixRows(rows: tf.Tensor2D, prefixLength: number, batch: number, length: number): tf.Tensor2D {
  const c = rows.shape[1];
  const x = tf.reshape(rows, [batch, prefixLength + length, c]);
  return tf.reshape(tf.slice(x, [0, prefixLength, 0], [batch, length, c]), [batch * length, c]) as tf.Tensor2D;
}

/** The key mask of the extended sequence: P ones (the prefix, always visible) before each batch row's T flags. */
export function prefixedMask(
  mask: ArrayLike<number>,
  prefixLength: number,
  batch: number,
  length: number,
): Float32Array {
  const out = new Float32Array(batch * (prefixLength + length));
  for (let b = 0; b < batch; b++) {
    const base = b * (prefixLength + length);
    out.fill(1, base, base + prefixLength);
    for (let t = 0; t < length; t++) out[base + prefixLength + t] = mask[b * length + t] ? 1 : 0;
  }
  return out;
}

/**
 * The real tokens' positions next to `prefix`: `positions` (0.. over the real tokens) unchanged for "from-0", shifted
 * by P for "after-prefix". Refuses positions past the model's `maxLen` (the learned position table's size).
 */
export function prefixPositions(positions: Int32Array, prefix: KvPrefix | undefined, maxLen: number): Int32Array {
  if (!prefix || (prefix.positions ?? "from-0") === "from-0") return positions;
  if (prefix.positions !== "after-prefix")
    throw new Error(
      `key/value prefix positions ${JSON.stringify(prefix.positions)} are not one of ${PREFIX_POSITIONS.join(", ")}`,
    );
  const out = positions.map((p) => p + prefix.length);
  const last = out.reduce((m, p) => Math.max(m, p), 0);
  if (last >= maxLen)
    throw new Error(
      `a key/value prefix of ${prefix.length} rows numbers the real tokens after it ("after-prefix"), so the last ` +
        `one is at position ${last}, past the model's maxLen ${maxLen}: shorten the input or the prefix`,
    );
  return out;
}

/** Checks a layer prefix against the attention's key/value width; names both shapes. */
export function checkLayerPrefix(prefix: LayerPrefix, length: number, width: number, where: string): void {
  for (const [name, t] of [
    ["keys", prefix.keys],
    ["values", prefix.values],
  ] as const) {
    if (t.rank !== 2 || t.shape[0] !== length || t.shape[1] !== width) {
      throw new Error(
        `${where}: prefix ${name} are [${t.shape}], expected [${length}, ${width}] (P x key/value heads * head dim)`,
      );
    }
  }
}
