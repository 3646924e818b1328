/**
 * Rank classification: a label's score is log sum_w P(word w | input), the total probability the backbone
 * assigns to the label's words as the continuation of the input, with P(word) the product of its tokens'
 * conditional probabilities. No new head is needed, so the same scorer serves zero-shot evaluation, prompt
 * tuning and full fine-tuning (the "same verbalizer objective").
 *
 * When every label word is a single token, one forward pass per input scores all labels from the next-token
 * distribution at the input's last position. Otherwise each (input, word) pair is one sequence: the input
 * followed by the word's tokens but the last, scored at each position.
 */
import { tf } from "../backend/backend";
import { embeddingLookup } from "../backend/embedding";
import type { Transformer } from "../backbone/transformer";
import type { InputSequence } from "../prompt/sequence";
import { SplicedBatch, spliceBatch, spliceRows } from "../prompt/splice";
import type { PromptSet } from "../prompt/soft-prompt";
import type { KvPrefix } from "../backbone/kv-prefix";

/** Label words as token ids: [label][word][token]. */
export type Candidates = readonly (readonly (readonly number[])[])[];

export interface ScoreOptions {
  readonly padId: number;
  readonly training: boolean;
  /** deep prompts (P-tuning v2): one prompt set per block 1..L-1, same slot lengths as `prompts`. */
  readonly deepPrompts?: readonly PromptSet[];
  /** prefix tuning: key/value prefixes every layer's attention sees (lib/backbone/kv-prefix.ts). */
  readonly kvPrefix?: KvPrefix;
}

/** Forward pass from a spliced batch, splicing deep prompts into the input of every later block. */
function hiddenStates(model: Transformer, sp: SplicedBatch, opts: ScoreOptions): tf.Tensor3D {
  const deep = opts.deepPrompts;
  if (deep && deep.length !== model.config.nLayers - 1) {
    throw new Error(
      `deep prompts: got ${deep.length} layer prompt sets for a ${model.config.nLayers}-layer backbone (need ${model.config.nLayers - 1})`,
    );
  }
  return model.forwardEmbeddings(sp.x, sp.mask, {
    training: opts.training,
    layerHook: deep ? (layer, h) => spliceRows(h, sp, deep[layer - 1]!) : undefined,
    ...(opts.kvPrefix ? { prefix: opts.kvPrefix } : {}),
  });
}

/** Hidden state rows at given flat positions ([B*L, D] -> [K, D]) with a gradient on every backend. */
function pickRows(hidden: tf.Tensor3D, flatIndex: Int32Array): tf.Tensor2D {
  const [b, l, d] = hidden.shape;
  return embeddingLookup(flatIndex, tf.reshape(hidden, [b * l, d]) as tf.Tensor2D, { tableGrad: true });
}

/** [K, V] log-probabilities -> [K] entries at (k, targets[k]), via a constant one-hot mask (differentiable). */
function pickTargets(logp: tf.Tensor2D, targets: Int32Array): tf.Tensor1D {
  const onehot = tf.cast(tf.oneHot(tf.tensor1d(targets, "int32"), logp.shape[1]), "float32");
  return tf.sum(tf.mul(logp, onehot), 1) as tf.Tensor1D;
}

/**
 * Sums entries of `values` [K] into groups ([G]) then, per (item, label), log-sum-exps over the label's words.
 * groupOf[k] = word-group index g; group g belongs to (item i, label c); returns [B, C].
 */
function combine(
  values: tf.Tensor1D,
  groupOf: Int32Array,
  groups: number,
  items: number,
  cands: Candidates,
): tf.Tensor2D {
  const k = groupOf.length;
  const sel = new Float32Array(groups * k);
  for (let j = 0; j < k; j++) sel[groupOf[j]! * k + j] = 1;
  const wordScores = tf.reshape(tf.matMul(tf.tensor2d(sel, [groups, k]), tf.reshape(values, [k, 1])), [groups]); // [G]
  // Groups are ordered item-major, then label, then word.
  const perItem = cands.reduce((n, ws) => n + ws.length, 0);
  const byItem = tf.reshape(wordScores, [items, perItem]);
  const labelScores: tf.Tensor[] = [];
  let at = 0;
  for (const ws of cands) {
    const cols = tf.slice(byItem, [0, at], [items, ws.length]);
    labelScores.push(ws.length === 1 ? tf.reshape(cols, [items]) : tf.logSumExp(cols, 1));
    at += ws.length;
  }
  return tf.stack(labelScores, 1) as tf.Tensor2D; // [B, C]
}

function allSingleToken(cands: Candidates): boolean {
  return cands.every((ws) => ws.every((w) => w.length === 1));
}

/** Class scores [B, C] for a batch of inputs. Call inside tf.tidy (or a gradient function). */
export function classScores(
  model: Transformer,
  prompts: PromptSet | null,
  seqs: readonly InputSequence[],
  cands: Candidates,
  opts: ScoreOptions,
): tf.Tensor2D {
  return splicedClassScores(model, (s) => spliceBatch(model, s, prompts, opts.padId), seqs, cands, opts);
}

/**
 * Class scores from a custom splicer: `splice(xs)` embeds the sequences `xs` as a batch of `copies * xs.length`
 * rows, copy-major (row c * xs.length + i is sequence i under copy c, e.g. under prompt c of an ensemble).
 * Returns [copies * B, C], copy-major. Call inside tf.tidy (or a gradient function).
 */
export function splicedClassScores(
  model: Transformer,
  splice: (xs: readonly InputSequence[]) => SplicedBatch,
  seqs: readonly InputSequence[],
  cands: Candidates,
  opts: ScoreOptions,
  copies = 1,
): tf.Tensor2D {
  if (cands.length < 2) throw new Error(`classScores: need at least 2 labels, got ${cands.length}`);
  if (allSingleToken(cands)) {
    const sp = splice(seqs);
    const hidden = hiddenStates(model, sp, opts);
    const rows = pickRows(
      hidden,
      Int32Array.from(sp.lastIndex, (t, r) => r * sp.length + t),
    ); // [copies*B, D]
    const logp = tf.logSoftmax(model.logits(rows)) as tf.Tensor2D; // [copies*B, V]
    const words = cands.flatMap((ws) => ws.map((w) => w[0]!));
    const b = copies * seqs.length;
    // One row of logp per item, W word entries per row: repeat rows so pickTargets can take one target each.
    const rowIndex = new Int32Array(b * words.length);
    const targets = new Int32Array(b * words.length);
    const groupOf = new Int32Array(b * words.length);
    for (let i = 0; i < b; i++) {
      words.forEach((id, w) => {
        rowIndex[i * words.length + w] = i;
        targets[i * words.length + w] = id;
        groupOf[i * words.length + w] = i * words.length + w;
      });
    }
    const repeated = embeddingLookup(rowIndex, logp, { tableGrad: true }); // [B*W, V]
    return combine(pickTargets(repeated, targets), groupOf, b * words.length, b, cands);
  }
  // General path: one sequence per (item, label word).
  const expanded: InputSequence[] = [];
  const wordTokens: (readonly number[])[] = [];
  for (const s of seqs) {
    for (const ws of cands) {
      for (const w of ws) {
        expanded.push({ pieces: [...s.pieces, { kind: "tokens", ids: w.slice(0, -1) }] });
        wordTokens.push(w);
      }
    }
  }
  const sp = splice(expanded);
  const hidden = hiddenStates(model, sp, opts);
  const flat: number[] = [];
  const targets: number[] = [];
  const groupOf: number[] = [];
  for (let g = 0; g < copies * wordTokens.length; g++) {
    const w = wordTokens[g % wordTokens.length]!;
    const start = sp.lastIndex[g]! - (w.length - 1); // position predicting the word's first token
    w.forEach((id, j) => {
      flat.push(g * sp.length + start + j);
      targets.push(id);
      groupOf.push(g);
    });
  }
  const logp = tf.logSoftmax(model.logits(pickRows(hidden, Int32Array.from(flat)))) as tf.Tensor2D; // [K, V]
  return combine(
    pickTargets(logp, Int32Array.from(targets)),
    Int32Array.from(groupOf),
    copies * wordTokens.length,
    copies * seqs.length,
    cands,
  );
}

/** Mean cross-entropy of class scores [B, C] against gold label indices (softmax over the labels). */
export function classLoss(scores: tf.Tensor2D, gold: readonly number[]): tf.Scalar {
  const [b, c] = scores.shape;
  if (gold.length !== b) throw new Error(`classLoss: ${b} score rows but ${gold.length} gold labels`);
  const onehot = tf.cast(tf.oneHot(tf.tensor1d(Int32Array.from(gold), "int32"), c), "float32");
  return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(scores), onehot), 1))) as tf.Scalar;
}

/** Hidden states at each input's last position [B, D] (features for a linear probe). */
export function lastHidden(model: Transformer, seqs: readonly InputSequence[], opts: ScoreOptions): tf.Tensor2D {
  const sp = spliceBatch(model, seqs, null, opts.padId);
  const hidden = model.forwardEmbeddings(sp.x, sp.mask, { training: opts.training });
  return pickRows(
    hidden,
    Int32Array.from(sp.lastIndex, (t, r) => r * sp.length + t),
  );
}
