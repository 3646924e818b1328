/**
 * Prefix tuning (Li & Liang 2021; P-tuning v2, Liu et al. 2022): P trainable keys and values per attention layer
 * (per key/value head under grouped-query attention) that every real token attends to, on a frozen backbone. Unlike
 * deep prompt tuning (deep-prompt-tuning.ts), which overwrites residual positions that the frozen projections then
 * turn into keys and values, the prefixes are the keys and values themselves, need no input positions and take no
 * position ids (the real tokens keep positions 0..). Optionally through Li & Liang's reparameterisation MLP
 * (PEFT's `prefix_projection`), whose embedding and MLP weights are the trainable parameters (counted as such).
 * prompt.length is the prefix length P; prompt position and initializer do not apply (lib/prompt/prefix-encoder.ts
 * has the initialisation).
 */
import { arch } from "../../backbone/config";
import { PrefixEncoder, type PrefixShape } from "../../prompt/prefix-encoder";
import { classScores } from "../rank-scorer";
import { assertBackboneExcluded, Method } from "../method";

export const prefixTuning: Method = {
  name: "prefix-tuning",
  description: "P trainable keys and values per layer prepended to a frozen backbone's attention (optionally via an MLP)",
  trains: true,
  defaultLr: 1e-2,
  // The trained state is a key/value prefix, not a soft prompt: prompt positions and two-stage tuning do not apply.
  trainsPrompt: false,
  build(ctx) {
    ctx.model.freeze();
    const c = ctx.model.config;
    const a = arch(c);
    const shape: PrefixShape = {
      layers: c.nLayers,
      length: ctx.prompt.length,
      kvHeads: a.nKvHeads,
      headDim: a.headDim,
      dModel: c.dModel,
    };
    const form = ctx.prefix ?? { projection: false, hidden: null };
    const encoder = PrefixEncoder.create(shape, form.projection ? { hidden: form.hidden ?? c.dModel } : null, ctx.seed);
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
      taskBytes: shape.length * shape.layers * 2 * shape.kvHeads * shape.headDim * 4,
      prompt: {
        length: shape.length,
        init: form.projection ? `mlp(hidden ${form.hidden ?? c.dModel})` : "random-normal",
        position: "key/value prefix (every layer)",
      },
      prompts: null,
      prefix: encoder,
      dispose: () => encoder.dispose(),
    };
  },
};
