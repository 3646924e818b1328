/** Full fine-tuning: every backbone weight trains with the same verbalizer objective as prompt tuning. */
import { classScores } from "../rank-scorer";
import type { Method } from "../method";

export const fullFinetune: Method = {
  name: "full-finetune",
  description: "all backbone weights train; rank classification over label words",
  trains: true,
  defaultLr: 3e-4,
  trainsPrompt: false,
  build(ctx) {
    ctx.model.unfreeze();
    const n = ctx.model.paramCount();
    return {
      trainable: ctx.model.variables(),
      scores: (seqs, training) => classScores(ctx.model, null, seqs, ctx.candidates, { padId: ctx.padId, training }),
      trainableParams: n,
      taskBytes: n * 4,
      prompt: null,
      prompts: null,
      dispose: () => undefined,
    };
  },
};
