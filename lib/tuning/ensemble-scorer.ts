/**
 * Class scores of a prompt ensemble: N prompts on one frozen backbone, every (prompt, example) pair scored by the
 * same rank classification as a single prompt, in ONE forward pass over a [N*B, L, D] batch (splice-ensemble.ts).
 */
import { tf } from "../backend/backend";
import type { Transformer } from "../backbone/transformer";
import type { InputSequence } from "../prompt/sequence";
import type { PromptSet } from "../prompt/soft-prompt";
import { checkSameLayout, spliceEnsemble } from "../prompt/splice-ensemble";
import { splicedClassScores, type Candidates } from "./rank-scorer";

/** Class scores [N, B, C] of `seqs` under each member prompt. Call inside tf.tidy. */
export function ensembleClassScores(
  model: Transformer,
  members: readonly PromptSet[],
  seqs: readonly InputSequence[],
  cands: Candidates,
  padId: number,
): tf.Tensor3D {
  checkSameLayout(members);
  const n = members.length;
  const flat = splicedClassScores(
    model,
    (xs) => spliceEnsemble(model, xs, members, padId),
    seqs,
    cands,
    { padId, training: false },
    n,
  ); // [N*B, C]
  return tf.reshape(flat, [n, seqs.length, cands.length]) as tf.Tensor3D;
}
