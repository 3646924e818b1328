/** Zero-shot: the frozen backbone scores the verbalizer's label words; nothing trains. */
import { classScores } from "../rank-scorer";
import type { Method } from "../method";

export const zeroShot: Method = {
  name: "zero-shot",
  description: "frozen backbone, rank classification over label words, no training",
  trains: false,
  defaultLr: 0,
  trainsPrompt: false,
  build(ctx) {
    ctx.model.freeze();
    return {
      trainable: [],
      scores: (seqs) => classScores(ctx.model, null, seqs, ctx.candidates, { padId: ctx.padId, training: false }),
      trainableParams: 0,
      taskBytes: 0,
      prompt: null,
      prompts: null,
      dispose: () => undefined,
    };
  },
};
