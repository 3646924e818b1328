/**
 * Prefix tuning (Li & Liang 2021; P-tuning v2, Liu et al. 2022): P trainable keys and values per attention layer
 * (per key/value head under grouped-query attention) that every real token attends to, on a frozen backbone. Unlike
 * deep prompt tuning (deep-prompt-tuning.ts), which overwrites residual positions that the frozen projections then
 * turn into keys and values, the prefixes are the keys and values themselves, need no input positions and take no
 * position ids: the real tokens keep positions 0.., or with `positions: "after-prefix"` take P.. as Hugging Face numbers
 * them after PEFT's prefix (what a PEFT export needs, lib/prompt/peft/prefix-tuning.ts). Optionally through Li & Liang's reparameterisation MLP
 * (PEFT's `prefix_projection`), whose embedding and MLP weights are the trainable parameters (counted as such).
 *
 * prompt.length is the prefix length P; prompt.position does not apply. Direct prefixes start, for prompt.init
 * "sampled-vocab" (the default), from the keys and values the frozen backbone computes for P frequent tokens read as
 * one sequence (Li & Liang's initialisation with real words' activations: the model starts as if P ordinary words
 * preceded every input), or for "random-uniform" from U(-initRange, initRange). Projected prefixes start from the
 * MLP's own initialisation (lib/prompt/prefix-encoder.ts).
 */
import { tf } from "../../backend/backend";
import { Rng } from "../../backend/random";
import type { Transformer } from "../../backbone/transformer";
import { uniformArray } from "../../backend/random";
import { kvWidth, PrefixEncoder, prefixShapeOf, tableSize, type PrefixShape } from "../../prompt/prefix-encoder";
import { classScores } from "../rank-scorer";
import { assertBackboneExcluded, Method, MethodContext } from "../method";

/**
 * The keys and values the frozen backbone computes at every layer for `ids` read as one sequence (positions 0..P-1),
 * as a [P, L*2*W] prefix table (PrefixEncoder's column layout).
 */
export function activationTable(model: Transformer, ids: readonly number[], shape: PrefixShape): Float32Array {
  const p = ids.length;
  if (p !== shape.length) throw new Error(`activationTable: ${p} token ids for a prefix of length ${shape.length}`);
  const w = kvWidth(shape);
  const cols = shape.layers * 2 * w;
  const out = new Float32Array(p * cols);
  tf.tidy(() => {
    const x = model.embed(Int32Array.from(ids), 1, p); // [1, P, D]
    model.forwardEmbeddings(x, new Float32Array(p).fill(1), {
      checkpoint: false,
      captureKv: (l, keys, values) => {
        const k = keys.dataSync() as Float32Array; // [P, W]
        const v = values.dataSync() as Float32Array;
        for (let r = 0; r < p; r++) {
          out.set(k.subarray(r * w, (r + 1) * w), r * cols + 2 * l * w);
          out.set(v.subarray(r * w, (r + 1) * w), r * cols + (2 * l + 1) * w);
        }
      },
    });
  });
  return out;
}

/** The direct prefix's starting table for the context's prompt.init. */
function initialTable(ctx: MethodContext, shape: PrefixShape): Float32Array {
  const init = ctx.prompt.init;
  if (init === "random-uniform")
    return uniformArray(new Rng(ctx.seed), tableSize(shape), -ctx.prompt.initRange, ctx.prompt.initRange);
  if (init !== "sampled-vocab")
    throw new Error(
      `prefix-tuning: prompt init '${init}' does not apply to prefixes (use sampled-vocab or random-uniform)`,
    );
  if (ctx.frequentIds.length === 0)
    throw new Error("prefix-tuning: sampled-vocab initialisation needs frequent token ids");
  const rng = new Rng(ctx.seed);
  const ids: number[] = [];
  let pool: number[] = [];
  while (ids.length < shape.length) {
    if (pool.length === 0) pool = rng.shuffle([...ctx.frequentIds]);
    ids.push(pool.pop()!);
  }
  return activationTable(ctx.model, ids, shape);
}

export const prefixTuning: Method = {
  name: "prefix-tuning",
  description:
    "P trainable keys and values per layer prepended to a frozen backbone's attention (optionally via an MLP)",
  trains: true,
  defaultLr: 1e-2,
  // The trained state is a key/value prefix, not a soft prompt: prompt positions and two-stage tuning do not apply.
  trainsPrompt: false,
  build(ctx) {
    ctx.model.freeze();
    const c = ctx.model.config;
    const shape = prefixShapeOf(c, ctx.prompt.length);
    const form = ctx.prefix ?? { projection: false, hidden: null };
    const hidden = form.hidden ?? c.dModel;
    const positions = form.positions ?? "from-0";
    const encoder = form.projection
      ? PrefixEncoder.create(shape, { hidden }, ctx.seed, undefined, positions)
      : PrefixEncoder.create(shape, null, ctx.seed, initialTable(ctx, shape), positions);
    const trainable = encoder.variables();
    assertBackboneExcluded(ctx.model, trainable, "prefix-tuning");
    const params = encoder.paramCount();
    return {
      trainable,
      scores: (seqs, training) =>
        classScores(ctx.model, null, seqs, ctx.candidates, {
          padId: ctx.padId,
          training,
          kvPrefix: encoder.prefix(),
        }),
      trainableParams: params,
      // What a trained task adds: the collapsed [P, L*2*W] table (the MLP is dropped after training).
      taskBytes: tableSize(shape) * 4,
      prompt: {
        length: shape.length,
        init: form.projection ? `mlp(hidden ${hidden})` : ctx.prompt.init,
        position: "key/value prefix (every layer)",
      },
      prompts: null,
      prefix: encoder,
      dispose: () => encoder.dispose(),
    };
  },
};
