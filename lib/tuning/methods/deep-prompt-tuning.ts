/**
 * Deep prompt tuning (P-tuning v2, Liu et al. 2022): trainable prompt vectors at the input of every block, not
 * only the embedding layer. Each block b >= 1 gets its own [P, D] vectors that overwrite the residual stream at
 * the prompt positions (the frozen projections turn them into per-layer keys and values), so the prompt acts
 * directly on every layer. P-tuning v2 reports that this closes the gap to fine-tuning for small models, where
 * input-only prompt tuning lags. The backbone stays frozen; trainable parameters are nLayers * P * D.
 */
import { parsePosition } from "../../prompt/positions";
import { PromptSet } from "../../prompt/soft-prompt";
import { classScores } from "../rank-scorer";
import { assertBackboneExcluded, Method } from "../method";
import { makeInitializer } from "./prompt-tuning";

export const deepPromptTuning: Method = {
  name: "deep-prompt-tuning",
  description: "P-tuning v2: [P, D] prompt vectors at the input of every block of a frozen backbone",
  trains: true,
  defaultLr: 1e-2,
  trainsPrompt: true,
  build(ctx) {
    ctx.model.freeze();
    const lengths = parsePosition(ctx.prompt.position, ctx.prompt.length);
    const init = makeInitializer(ctx);
    const width = ctx.model.config.dModel;
    const layers = Array.from({ length: ctx.model.config.nLayers }, (_, l) =>
      PromptSet.create(lengths, width, init, ctx.prompt.init, (ctx.seed * 1009 + l * 7919) >>> 0),
    );
    const [input, ...deep] = layers as [PromptSet, ...PromptSet[]];
    const trainable = layers.flatMap((p) => p.variables());
    assertBackboneExcluded(ctx.model, trainable, "deep-prompt-tuning");
    const params = layers.reduce((n, p) => n + p.paramCount(), 0);
    return {
      trainable,
      scores: (seqs, training) =>
        classScores(ctx.model, input, seqs, ctx.candidates, { padId: ctx.padId, training, deepPrompts: deep }),
      trainableParams: params,
      taskBytes: params * 4,
      prompt: { ...input.settings, position: `${input.settings.position} (every layer)` },
      prompts: input,
      deepPrompts: deep,
      dispose: () => layers.forEach((p) => p.dispose()),
    };
  },
};
