/**
 * Calibrated zero-shot: contextual calibration (Zhao et al. 2021, "Calibrate Before Use"). The frozen backbone scores
 * the label words as in zero-shot, and each class's probability is divided by the probability the model gives that
 * class on content-free inputs (the task's template filled with "N/A", "[MASK]" and nothing), averaged over those
 * inputs. A small model that prefers one label word whatever the text (then zero-shot is the majority class) is so
 * judged on how the text moves its preference, which is the fair floor for a trained prompt. Nothing trains: the
 * content-free probabilities are computed once, when the method is built.
 */
import { tf } from "../../backend/backend";
import { classScores } from "../rank-scorer";
import type { Method } from "../method";

export const calibratedZeroShot: Method = {
  name: "calibrated-zero-shot",
  description: "zero-shot with contextual calibration (class probabilities divided by their content-free average)",
  trains: false,
  defaultLr: 0,
  trainsPrompt: false,
  build(ctx) {
    const contentFree = ctx.contentFree ?? [];
    if (contentFree.length === 0) {
      throw new Error(
        "calibrated-zero-shot: needs the task's content-free inputs (MethodContext.contentFree, e.g. PreparedTask.contentFreeSequences()), got none",
      );
    }
    ctx.model.freeze();
    const opts = { padId: ctx.padId, training: false };
    // log of the mean class probability over the content-free inputs: [C]
    const logPrior = tf.tidy(() =>
      tf.log(tf.mean(tf.softmax(classScores(ctx.model, null, contentFree, ctx.candidates, opts), -1), 0)),
    );
    return {
      trainable: [],
      scores: (seqs) =>
        tf.sub(tf.logSoftmax(classScores(ctx.model, null, seqs, ctx.candidates, opts), -1), logPrior) as tf.Tensor2D,
      trainableParams: 0,
      taskBytes: 0,
      prompt: null,
      prompts: null,
      dispose: () => logPrior.dispose(),
    };
  },
};
