/**
 * Prompt tuning (Lester et al. 2021; CPM-2): trainable soft prompts spliced into the input of a frozen backbone;
 * only the prompt vectors train. The backbone is frozen (its ops compute no weight gradients) and its variables
 * are refused from the trainable set.
 */
import {
  classLabel,
  fromText,
  Initializer,
  randomUniform,
  sampledVocab,
  EmbeddingTable,
} from "../../prompt/initializers";
import { parsePosition } from "../../prompt/positions";
import { PromptSet } from "../../prompt/soft-prompt";
import { classScores } from "../rank-scorer";
import { assertBackboneExcluded, Method, MethodContext } from "../method";

function embeddingTable(ctx: MethodContext): EmbeddingTable {
  const w = ctx.model.tokenEmbedding();
  return { data: w.dataSync() as Float32Array, vocab: w.shape[0]!, width: w.shape[1]! };
}

export function makeInitializer(ctx: MethodContext): Initializer {
  const p = ctx.prompt;
  if (p.init === "random-uniform") return randomUniform(p.initRange);
  const table = embeddingTable(ctx);
  const vocab = sampledVocab(table, ctx.frequentIds);
  switch (p.init) {
    case "sampled-vocab":
      return vocab;
    case "class-label":
      return classLabel(table, ctx.labelTokenIds, vocab);
    case "text":
      if (!ctx.initTextIds || ctx.initTextIds.length === 0) throw new Error("prompt init 'text' needs prompt.initText");
      return fromText(table, ctx.initTextIds, vocab);
  }
}

export const promptTuning: Method = {
  name: "prompt-tuning",
  description: "soft prompt [P, D] on a frozen backbone; only the prompt trains",
  trains: true,
  defaultLr: 3e-2,
  trainsPrompt: true,
  build(ctx) {
    ctx.model.freeze();
    const lengths = parsePosition(ctx.prompt.position, ctx.prompt.length);
    const prompts = PromptSet.create(lengths, ctx.model.config.dModel, makeInitializer(ctx), ctx.prompt.init, ctx.seed);
    const trainable = prompts.variables();
    assertBackboneExcluded(ctx.model, trainable, "prompt-tuning");
    return {
      trainable,
      scores: (seqs, training) => classScores(ctx.model, prompts, seqs, ctx.candidates, { padId: ctx.padId, training }),
      trainableParams: prompts.paramCount(),
      taskBytes: prompts.paramCount() * 4,
      prompt: prompts.settings,
      prompts,
      dispose: () => prompts.dispose(),
    };
  },
};
