/**
 * How much of a model trains: PEFT's `print_trainable_parameters()` line, e.g.
 *   trainable params: 15,360 || all params: 7,055,616 || trainable%: 0.2177
 * "all" counts the frozen backbone plus what trains on top of it (the soft prompt).
 */

export interface TrainableParameters {
  /** values the optimizer updates (the soft prompt: P x D, or L x P x D for deep prompts). */
  readonly trainable: number;
  /** backbone parameters + trainable values. */
  readonly all: number;
  /** 100 * trainable / all. */
  readonly percent: number;
}

export function trainableParameters(trainable: number, backboneParams: number): TrainableParameters {
  const all = backboneParams + trainable;
  return { trainable, all, percent: all > 0 ? (100 * trainable) / all : 0 };
}

/** "trainable params: 15,360 || all params: 7,055,616 || trainable%: 0.2177" */
export function formatTrainableParameters(p: TrainableParameters): string {
  const n = (x: number) => x.toLocaleString("en-US");
  return `trainable params: ${n(p.trainable)} || all params: ${n(p.all)} || trainable%: ${p.percent.toFixed(4)}`;
}
