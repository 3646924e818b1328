/**
 * Splicing N prompts into one batch: the examples of a batch repeated once per prompt, stacked along the batch
 * axis, so a frozen backbone scores every (prompt, example) pair in one forward pass (the prompt ensembles of
 * Lester et al. 2021 §7: one model, N prompts, no N model copies).
 *
 *   rows: token rows [B*L, D] (embedded once) ++ prompt 0 [P, D] ++ ... ++ prompt N-1 [P, D]
 *   x[n, b, t] = rows[index of (b, t) under prompt n]          -> [N*B, L, D], prompt-major
 *
 * Every member must have the same slot lengths (same layout), so masks, positions and last indices are those of
 * one member's batch, repeated N times.
 */
import { tf } from "../backend/backend";
import { embeddingLookup } from "../backend/embedding";
import type { Transformer } from "../backbone/transformer";
import { PROMPT_SLOTS } from "./positions";
import type { InputSequence } from "./sequence";
import type { PromptSet } from "./soft-prompt";
import { spliceBatch, type SplicedBatch } from "./splice";

/** Throws unless every member has the first member's slot lengths and width. */
export function checkSameLayout(members: readonly PromptSet[], where = "prompt ensemble"): void {
  if (members.length === 0) throw new Error(`${where}: needs at least one prompt`);
  const a = members[0]!;
  members.forEach((m, i) => {
    if (m.width !== a.width || PROMPT_SLOTS.some((s) => m.lengths[s] !== a.lengths[s])) {
      throw new Error(
        `${where}: member ${i} has slots ${JSON.stringify(m.lengths)} x ${m.width}, member 0 has ${JSON.stringify(a.lengths)} x ${a.width} ` +
          `(an ensemble's prompts share one layout)`,
      );
    }
  });
}

/** [N*B, L, D] embeddings of `seqs` under each of `members` (prompt-major). Call inside tf.tidy. */
export function spliceEnsemble(
  model: Transformer,
  seqs: readonly InputSequence[],
  members: readonly PromptSet[],
  padId: number,
): SplicedBatch {
  checkSameLayout(members);
  const one = spliceBatch(model, seqs, members[0]!, padId); // layout of one member's batch
  one.x.dispose();
  const n = members.length;
  const { batch: b, length: l } = one;
  const d = model.config.dModel;
  const bl = b * l;
  const p = PROMPT_SLOTS.reduce((s, k) => s + members[0]!.lengths[k], 0);
  const index = new Int32Array(n * bl);
  for (let m = 0; m < n; m++) {
    for (let i = 0; i < bl; i++) {
      const j = one.index[i]!;
      index[m * bl + i] = j < bl ? j : bl + m * p + (j - bl);
    }
  }
  const tokenRows = tf.reshape(model.embed(one.ids, b, l), [bl, d]) as tf.Tensor2D; // [B*L, D]
  const promptRows = members.flatMap((m) =>
    PROMPT_SLOTS.map((s) => m.slot(s)).filter((v): v is tf.Variable => v !== null),
  ); // N x [P_slot, D]
  const x = embeddingLookup(index, tf.concat([tokenRows, ...promptRows], 0) as tf.Tensor2D, { tableGrad: true }); // [N*B*L, D]
  const repeat = <T extends Int32Array | Uint8Array>(a: T, make: (len: number) => T): T => {
    const out = make(a.length * n);
    for (let m = 0; m < n; m++) out.set(a, m * a.length);
    return out;
  };
  return {
    x: tf.reshape(x, [n * b, l, d]) as tf.Tensor3D,
    mask: repeat(one.mask, (k) => new Uint8Array(k)),
    batch: n * b,
    length: l,
    lastIndex: repeat(one.lastIndex, (k) => new Int32Array(k)),
    ids: repeat(one.ids, (k) => new Int32Array(k)),
    index,
    hasPrompt: one.hasPrompt,
  };
}
