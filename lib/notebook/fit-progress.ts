/**
 * A live progress bar (step, loss, speed, ETA) with a learning curve for PromptModel.fit:
 *
 *   const progress = nb.fitProgress(300, "prompt tuning yelp");
 *   const fit = await model.fit(task, { steps: 300, ...progress.hooks });
 *   progress.finish(fit);
 */
import type { FitHooks, FitResult } from "../prompt-model/fit-options";
import { progressBar, type ProgressBar } from "../viz/live";

export interface FitProgress {
  /** pass to fit: `{ ...progress.hooks }`. */
  readonly hooks: Required<FitHooks>;
  readonly bar: ProgressBar;
  finish(fit: FitResult): void;
}

export function fitProgress(steps: number, label: string): FitProgress {
  const bar = progressBar(steps, { label, curve: true });
  return {
    bar,
    hooks: {
      onStep: (s) => bar.update(s.step, { loss: s.loss }),
      onEval: (e) => bar.curve?.push("dev accuracy", e.step, e.score),
    },
    finish: (fit) => bar.finish({ metrics: { "best dev acc": fit.bestDevAccuracy } }),
  };
}
