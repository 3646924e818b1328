import assert from "node:assert/strict";
import { classBalance, imbalanceStatement } from "../../lib/eval/class-balance";
import { classificationMetrics } from "../../lib/eval/metrics";

describe("eval/class-balance", () => {
  it("balanced classes: no statement", () => {
    const b = classBalance({ a: 10, b: 9, c: 11 });
    assert.equal(b.imbalanced, false);
    assert.equal(b.largest.label, "c");
    assert.equal(b.smallest.label, "b");
    assert.equal(imbalanceStatement({ a: 10, b: 9, c: 11 }), null);
  });

  it("imbalanced classes: shares, ratio, majority baseline, and the sentence", () => {
    const counts = { democratic: 54, republican: 40, whig: 6 };
    const b = classBalance(counts);
    assert.equal(b.imbalanced, true);
    assert.equal(b.total, 100);
    assert.equal(b.ratio, 9);
    assert.equal(b.majorityBaseline, 0.54);
    assert.equal(
      imbalanceStatement(counts, 'The test split of "party"'),
      'The test split of "party" is imbalanced: "democratic" has 54 of 100 examples (54%), "whig" 6 (6.0%); ratio 9.0:1. ' +
        'Always predicting "democratic" scores 54% accuracy, so compare methods by macro-F1 and MCC (MCC is 0 for any constant prediction).',
    );
    // what the statement claims about a constant prediction holds for the metrics module
    const gold = Object.entries(counts).flatMap(([, n], k) => Array<number>(n).fill(k));
    const m = classificationMetrics(
      gold,
      gold.map(() => 0),
      3,
    );
    assert.equal(m.accuracy, 0.54);
    assert.equal(m.mcc, 0);
    assert.ok(m.macroF1 < 0.3);
  });

  it("the threshold is a ratio >= 1.5 by default; a class with no examples is named", () => {
    assert.equal(classBalance({ a: 3, b: 2 }).imbalanced, true); // 1.5
    assert.equal(classBalance({ a: 7, b: 5 }).imbalanced, false); // 1.4
    assert.equal(classBalance({ a: 7, b: 5 }, { ratio: 1.2 }).imbalanced, true);
    const s = imbalanceStatement({ a: 5, b: 0, c: 5 })!;
    assert.match(s, /ratio unbounded: a class is empty/);
    assert.match(s, /It has no examples of "b", so those classes are not tested\./);
  });

  it("bad counts are clear errors", () => {
    assert.throws(() => classBalance({ a: 3 }), /need at least 2 labels/);
    assert.throws(() => classBalance({ a: 3, b: -1 }), /count of label "b" must be a non-negative integer, got -1/);
    assert.throws(() => classBalance({ a: 0, b: 0 }), /every count is 0/);
    assert.throws(() => classBalance({ a: 1, b: 2 }, { ratio: 0.5 }), /ratio must be a number >= 1/);
  });
});
