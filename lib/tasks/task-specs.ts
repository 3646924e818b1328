/**
 * Templates and verbalizers of the shipped tasks. Label words are common English words the backbones saw in
 * pre-training (WordNet glosses, speeches, Moby-Dick), each with its leading space, and chosen to be single
 * tokens of the kit's 2048-token vocabulary: then one forward pass per example scores every label (multi-token
 * label words work too, at one pass per label word).
 */
import type { TemplateSpec } from "./template";
import type { VerbalizerSpec } from "./verbalizer";

export interface TaskSpec {
  readonly template: TemplateSpec;
  readonly verbalizer: VerbalizerSpec;
}

const SENTIMENT: TaskSpec = {
  template: { pattern: "<front>{text} All in all, it was<back>", maxFieldTokens: 48 },
  verbalizer: { negative: [" not", " no"], positive: [" good", " great"] },
};

export const TASK_SPECS: Readonly<Record<string, TaskSpec>> = Object.freeze({
  imdb: SENTIMENT,
  amazon: SENTIMENT,
  yelp: SENTIMENT,
  spam: {
    template: { pattern: "<front>{text} This message is about<back>", maxFieldTokens: 64 },
    verbalizer: { ham: [" public", " general"], spam: [" money", " business"] },
  },
  "wordnet-pairs": {
    template: { pattern: "<front>{text}<middle> and {textB} are<back>", maxFieldTokens: 8 },
    verbalizer: { same: [" equal", " same"], opposite: [" different", " other"] },
  },
});

/** A default spec for a user task: label names as label words. */
export function defaultSpec(labels: readonly string[], pair: boolean): TaskSpec {
  return {
    template: {
      pattern: pair ? "<front>{text}<middle> / {textB} Label:<back>" : "<front>{text} Label:<back>",
      maxFieldTokens: 64,
    },
    verbalizer: Object.fromEntries(labels.map((l) => [l, [" " + l]])),
  };
}
