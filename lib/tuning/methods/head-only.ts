/**
 * Head-only (linear probe): a new linear classifier [D, C] on the frozen backbone's last hidden state. The
 * baseline that asks how much a task is already linearly readable from the frozen features.
 */
import { tf } from "../../backend/backend";
import { linear } from "../../backend/linear";
import { Rng, normalArray } from "../../backend/random";
import { lastHidden } from "../rank-scorer";
import { assertBackboneExcluded, Method } from "../method";

export const headOnly: Method = {
  name: "head-only",
  description: "linear probe [D, C] on the frozen backbone's last hidden state",
  trains: true,
  defaultLr: 1e-2,
  trainsPrompt: false,
  build(ctx) {
    ctx.model.freeze();
    const d = ctx.model.config.dModel;
    const c = ctx.candidates.length;
    const w = tf.tidy(() =>
      tf.variable(
        tf.tensor2d(normalArray(new Rng(ctx.seed), d * c, 0.02), [d, c]),
        true,
        `head/w/${ctx.seed}/${Date.now()}`,
      ),
    );
    const b = tf.tidy(() => tf.variable(tf.zeros([c]), true, `head/b/${ctx.seed}/${Date.now()}`));
    assertBackboneExcluded(ctx.model, [w, b], "head-only");
    return {
      trainable: [w, b],
      scores: (seqs, training) =>
        linear(lastHidden(ctx.model, seqs, { padId: ctx.padId, training }), w as tf.Tensor2D, b as tf.Tensor1D, {
          weightGrad: true,
        }),
      trainableParams: d * c + c,
      taskBytes: (d * c + c) * 4,
      prompt: null,
      prompts: null,
      dispose: () => {
        w.dispose();
        b.dispose();
      },
    };
  },
};
