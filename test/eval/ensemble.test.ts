import assert from "node:assert/strict";
import { compareEnsemble, ensemblePredict, meanLogProbs, memberPredictions } from "../../lib/eval/ensemble";
import { cosineSimilarity, ranks, spearman } from "../../lib/eval/similarity";

const L = Math.log;

describe("prompt ensemble combination", () => {
  // 3 members x 2 examples x 2 labels, as log-probabilities (rows already normalised).
  const scores = [
    [
      [L(0.9), L(0.1)],
      [L(0.4), L(0.6)],
    ],
    [
      [L(0.2), L(0.8)],
      [L(0.45), L(0.55)],
    ],
    [
      [L(0.3), L(0.7)],
      [L(0.99), L(0.01)],
    ],
  ];

  it("mean log-probability averages normalised scores; majority vote counts votes", () => {
    const mean = meanLogProbs(scores);
    assert.ok(Math.abs(mean[0]![0]! - (L(0.9) + L(0.2) + L(0.3)) / 3) < 1e-12);
    // unnormalised scores give the same mean (normalisation over labels is inside)
    const shifted = scores.map((m) => m.map((r) => r.map((v) => v + 5)));
    assert.deepEqual(
      meanLogProbs(shifted).map((r) => r.map((v) => v.toFixed(10))),
      mean.map((r) => r.map((v) => v.toFixed(10))),
    );
    assert.deepEqual(memberPredictions(scores), [
      [0, 1],
      [1, 1],
      [1, 0],
    ]);
    assert.deepEqual(ensemblePredict(scores, "majority-vote"), [1, 1]);
    // example 0: mean log p(0) = log(.9*.2*.3)/3 = -1.9 < mean log p(1) = log(.1*.8*.7)/3 = -0.96; example 1: label 0 wins on the mean
    assert.deepEqual(ensemblePredict(scores, "mean-logprob"), [1, 0]);
  });

  it("breaks a vote tie by the mean log-probability", () => {
    const two = [scores[0]!, scores[1]!]; // example 0: votes 0 vs 1
    assert.deepEqual(ensemblePredict(two, "majority-vote")[0], L(0.9) + L(0.2) > L(0.1) + L(0.8) ? 0 : 1);
  });

  it("compares the ensemble with each member and the best member, paired over examples", () => {
    const gold = [1, 0];
    const c = compareEnsemble(scores, gold, "mean-logprob");
    assert.equal(c.ensembleAccuracy, 1);
    assert.deepEqual(c.memberAccuracy, [0, 0.5, 1]);
    assert.equal(c.bestMember, 2);
    assert.equal(c.vsBest.mean, 0);
    assert.deepEqual(
      c.vsMember.map((s) => s.mean),
      [1, 0.5, 0],
    );
    assert.ok(Math.abs(c.vsMeanMember - 0.5) < 1e-12);
    assert.throws(() => compareEnsemble(scores, [1], "mean-logprob"), /1 gold labels for 2 scored examples/);
    assert.throws(
      () => ensemblePredict(scores, "median" as never),
      /ensemble rule must be one of mean-logprob, majority-vote/,
    );
    assert.throws(() => meanLogProbs([scores[0]!, [[0, 0]]]), /member 1 scored 1 examples, member 0 scored 2/);
  });
});

describe("prompt similarity and rank correlation", () => {
  it("cosine similarity of vectors", () => {
    assert.equal(cosineSimilarity([1, 0], [0, 1]), 0);
    assert.ok(Math.abs(cosineSimilarity([1, 2, 3], [2, 4, 6]) - 1) < 1e-12);
    assert.ok(Math.abs(cosineSimilarity([1, 1], [1, 0]) - Math.SQRT1_2) < 1e-12);
    assert.throws(() => cosineSimilarity([0, 0], [1, 1]), /zero vector/);
    assert.throws(() => cosineSimilarity([1], [1, 2]), /length 1 and 2/);
  });

  it("Spearman's rho with tied ranks (hand-computed: 8 / sqrt(95))", () => {
    assert.deepEqual(ranks([5, 6, 7, 8, 7]), [1, 2, 3.5, 5, 3.5]);
    assert.ok(Math.abs(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) - 8 / Math.sqrt(95)) < 1e-12);
    assert.equal(spearman([1, 2, 3], [30, 20, 10]), -1);
    assert.ok(Number.isNaN(spearman([1, 2, 3], [4, 4, 4])));
    assert.throws(() => spearman([1], [2]), /at least 2 pairs/);
    assert.throws(() => spearman([1, NaN], [2, 3]), /value 1 is NaN/);
  });
});
