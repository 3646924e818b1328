import assert from "node:assert/strict";
import { tf } from "../../lib/backend/backend";
import { classLoss, classScores } from "../../lib/tuning/rank-scorer";
import { tokens } from "../../lib/prompt/sequence";
import { setupBackend } from "../helpers";
import { loadTiny } from "./fixture";

/** log P(ids | context) by running the backbone on context+ids and summing next-token log-probs. */
function logLikelihood(b: ReturnType<typeof loadTiny>, context: number[], ids: readonly number[]): number {
  return tf.tidy(() => {
    const seq = [...context, ...ids];
    const x = b.model.embed(Int32Array.from(seq), 1, seq.length);
    const h = b.model.forwardEmbeddings(x, new Uint8Array(seq.length).fill(1));
    const logp = tf
      .logSoftmax(b.model.logits(tf.reshape(h, [seq.length, b.model.config.dModel]) as tf.Tensor2D))
      .arraySync() as number[][];
    let s = 0;
    ids.forEach((id, j) => (s += logp[context.length - 1 + j]![id]!));
    return s;
  });
}

const logAddExp = (a: number, b: number) => Math.max(a, b) + Math.log1p(Math.exp(-Math.abs(a - b)));

describe("rank classification", () => {
  before(setupBackend);

  it("single-token label words: scores equal the hand-computed log-likelihoods", () => {
    const b = loadTiny();
    const t = b.tokenizer;
    // Any single token ids will do: the scorer does not care whether they are real words.
    const cands = [[[t.vocabSize - 1], [57]], [[123]]];
    const ctxA = [t.eosId, ...t.encode("the film was")];
    const ctxB = [t.eosId, ...t.encode("it was not")];
    const scores = tf.tidy(() =>
      classScores(b.model, null, [{ pieces: [tokens(ctxA)] }, { pieces: [tokens(ctxB)] }], cands, {
        padId: t.padId,
        training: false,
      }).arraySync(),
    );
    [ctxA, ctxB].forEach((ctx, i) => {
      const pos = logAddExp(logLikelihood(b, ctx, cands[0]![0]!), logLikelihood(b, ctx, cands[0]![1]!));
      const neg = logLikelihood(b, ctx, cands[1]![0]!);
      assert.ok(Math.abs(scores[i]![0]! - pos) < 1e-4, `row ${i} label 0: ${scores[i]![0]} vs ${pos}`);
      assert.ok(Math.abs(scores[i]![1]! - neg) < 1e-4, `row ${i} label 1: ${scores[i]![1]} vs ${neg}`);
    });
    b.model.dispose();
  });

  it("multi-token label words: scores equal the summed token log-likelihoods", () => {
    const b = loadTiny();
    const t = b.tokenizer;
    const cands = [[t.encode(" not worth")], [t.encode(" good and great"), t.encode(" a")]];
    assert.ok(cands[1]![0]!.length > 1);
    const ctx = [t.eosId, ...t.encode("all in all it was")];
    const s = tf.tidy(() =>
      classScores(b.model, null, [{ pieces: [tokens(ctx)] }], cands, { padId: t.padId, training: false }).arraySync(),
    )[0]!;
    const want0 = logLikelihood(b, ctx, cands[0]![0]!);
    const want1 = logAddExp(logLikelihood(b, ctx, cands[1]![0]!), logLikelihood(b, ctx, cands[1]![1]!));
    assert.ok(Math.abs(s[0]! - want0) < 1e-4, `${s[0]} vs ${want0}`);
    assert.ok(Math.abs(s[1]! - want1) < 1e-4, `${s[1]} vs ${want1}`);
    b.model.dispose();
  });

  it("padding in a batch does not change a sequence's scores", () => {
    const b = loadTiny();
    const t = b.tokenizer;
    const cands = [[[77]], [[t.vocabSize - 2]]];
    const short = { pieces: [tokens([t.eosId, ...t.encode("it was")])] };
    const long = { pieces: [tokens([t.eosId, ...t.encode("the service was bad and it was not worth it")])] };
    const alone = tf.tidy(
      () => classScores(b.model, null, [short], cands, { padId: t.padId, training: false }).arraySync()[0]!,
    );
    const batched = tf.tidy(
      () => classScores(b.model, null, [short, long], cands, { padId: t.padId, training: false }).arraySync()[0]!,
    );
    alone.forEach((v, i) => assert.ok(Math.abs(v - batched[i]!) < 1e-4));
    b.model.dispose();
  });

  it("class loss is the cross-entropy of the softmax over labels", () => {
    const l = tf.tidy(
      () =>
        classLoss(
          tf.tensor2d([
            [0, Math.log(3)],
            [2, 2],
          ]),
          [1, 0],
        ).dataSync()[0]!,
    );
    const want = (-Math.log(3 / 4) - Math.log(1 / 2)) / 2;
    assert.ok(Math.abs(l - want) < 1e-6, `${l} vs ${want}`);
  });
});
