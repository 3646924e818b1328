/**
 * Turns a batch of InputSequences into input embeddings with the soft prompts spliced in.
 *
 *   token rows: model.embed(ids)                [B*L, D]   (ids of prompt/padding rows are <pad>)
 *   prompt rows: concat of the prompt slots      [P, D]
 *   x = rows(concat([tokenRows, promptRows]), index)  [B*L, D] -> [B, L, D]
 *
 * where index[b*L + t] points at the token row itself or at the prompt row that belongs there. The row
 * selection is an embedding lookup with a scatter-add gradient, so gradients reach the prompt on every
 * backend. Sequences are right-padded; the mask marks real tokens and prompt vectors, and positions count
 * them (padding does not advance positions).
 */
import { tf } from "../backend/backend";
import { embeddingLookup } from "../backend/embedding";
import type { Transformer } from "../backbone/transformer";
import { PROMPT_SLOTS, PromptSlot } from "./positions";
import type { InputSequence } from "./sequence";
import type { PromptSet } from "./soft-prompt";

export interface SplicedBatch {
  /** [B, L, D] input embeddings. */
  readonly x: tf.Tensor3D;
  /** B*L flags: 1 = token or prompt vector, 0 = padding. */
  readonly mask: Uint8Array;
  readonly batch: number;
  readonly length: number;
  /** per row, the index (0..L-1) of its last real position. */
  readonly lastIndex: Int32Array;
  /** B*L token ids (pad for prompt and padding rows), e.g. for targets. */
  readonly ids: Int32Array;
  /**
   * Row selection used for splicing: index[i] = i for token/padding rows, B*L + k for the k-th prompt vector
   * (slots in front, middle, back order). Deep prompts reuse it to splice per-layer vectors.
   */
  readonly index: Int32Array;
  /** whether any prompt vector was spliced in. */
  readonly hasPrompt: boolean;
}

/** Layout of one sequence: for each position, a token id or a prompt row. */
function layout(seq: InputSequence, prompts: PromptSet | null, padId: number): { ids: number[]; promptRow: number[] } {
  const ids: number[] = [];
  const promptRow: number[] = [];
  const offsets: Record<PromptSlot, number> = { front: 0, middle: 0, back: 0 };
  if (prompts) {
    let at = 0;
    for (const s of PROMPT_SLOTS) {
      offsets[s] = at;
      at += prompts.lengths[s];
    }
  }
  for (const piece of seq.pieces) {
    if (piece.kind === "tokens") {
      for (const id of piece.ids) {
        ids.push(id);
        promptRow.push(-1);
      }
    } else if (prompts) {
      const n = prompts.lengths[piece.slot];
      for (let k = 0; k < n; k++) {
        ids.push(padId);
        promptRow.push(offsets[piece.slot] + k);
      }
    }
  }
  return { ids, promptRow };
}

/** Builds [B, L, D] embeddings for `seqs` (L = longest sequence). Call inside tf.tidy or dispose x. */
export function spliceBatch(
  model: Transformer,
  seqs: readonly InputSequence[],
  prompts: PromptSet | null,
  padId: number,
): SplicedBatch {
  if (seqs.length === 0) throw new Error("spliceBatch: empty batch");
  const layouts = seqs.map((s) => layout(s, prompts, padId));
  const b = seqs.length;
  const l = Math.max(...layouts.map((x) => x.ids.length));
  if (l === 0) throw new Error("spliceBatch: every sequence is empty");
  if (l > model.config.maxLen) {
    throw new Error(`spliceBatch: a sequence of ${l} positions exceeds the backbone's maxLen ${model.config.maxLen}`);
  }
  const ids = new Int32Array(b * l).fill(padId);
  const mask = new Uint8Array(b * l);
  const lastIndex = new Int32Array(b);
  const index = new Int32Array(b * l);
  let anyPrompt = false;
  layouts.forEach((lay, r) => {
    for (let t = 0; t < l; t++) {
      const i = r * l + t;
      index[i] = i;
      if (t < lay.ids.length) {
        ids[i] = lay.ids[t]!;
        mask[i] = 1;
        if (lay.promptRow[t]! >= 0) {
          index[i] = b * l + lay.promptRow[t]!;
          anyPrompt = true;
        }
      }
    }
    lastIndex[r] = lay.ids.length - 1;
  });
  const d = model.config.dModel;
  const tokenRows = tf.reshape(model.embed(ids, b, l), [b * l, d]) as tf.Tensor2D;
  let x: tf.Tensor2D = tokenRows;
  if (prompts && anyPrompt) {
    const promptRows = tf.concat(
      PROMPT_SLOTS.map((s) => prompts.slot(s)).filter((v): v is tf.Variable => v !== null),
      0,
    ) as tf.Tensor2D;
    x = embeddingLookup(index, tf.concat([tokenRows, promptRows], 0) as tf.Tensor2D, { tableGrad: true });
  }
  return {
    x: tf.reshape(x, [b, l, d]) as tf.Tensor3D,
    mask,
    batch: b,
    length: l,
    lastIndex,
    ids,
    index,
    hasPrompt: anyPrompt,
  };
}

/**
 * Overwrites the prompt positions of rows [B*L, D] with a prompt set's vectors (same slot lengths as the set
 * used for splicing): the per-layer step of deep prompt tuning.
 */
export function spliceRows(rows: tf.Tensor2D, sp: SplicedBatch, prompts: PromptSet): tf.Tensor2D {
  if (!sp.hasPrompt) return rows;
  const vars = PROMPT_SLOTS.map((s) => prompts.slot(s)).filter((v): v is tf.Variable => v !== null);
  return embeddingLookup(sp.index, tf.concat([rows, ...vars], 0) as tf.Tensor2D, { tableGrad: true });
}
