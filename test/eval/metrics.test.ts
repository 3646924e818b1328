import { strict as assert } from "node:assert";
import {
  accuracy,
  classificationMetrics,
  confusionMatrix,
  macroF1,
  mcc,
  mccFromMatrix,
  perClassF1,
} from "../../lib/eval/metrics";
import { Rng } from "../../lib/backend/random";

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

describe("eval/metrics", () => {
  // binary: TP=3 FN=1 FP=1 TN=5
  const gold2 = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0];
  const pred2 = [1, 1, 1, 0, 1, 0, 0, 0, 0, 0];

  it("binary example matches hand-computed values", () => {
    assert.deepEqual(confusionMatrix(gold2, pred2, 2), [
      [5, 1],
      [1, 3],
    ]);
    close(accuracy(gold2, pred2), 0.8);
    // F1(1) = 6/8, F1(0) = 10/12
    close(macroF1(gold2, pred2, 2), (0.75 + 10 / 12) / 2);
    // (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = 14/24
    close(mcc(gold2, pred2, 2), 14 / 24);
  });

  it("sklearn's documented MCC example gives -1/3", () => {
    // y_true = [+1, +1, +1, -1], y_pred = [+1, -1, +1, +1] -> -0.333...
    close(mcc([1, 1, 1, 0], [1, 0, 1, 1], 2), -1 / 3);
  });

  it("3-class example matches hand-computed values", () => {
    const gold = [0, 0, 0, 0, 1, 1, 2, 2, 2];
    const pred = [0, 0, 0, 1, 1, 2, 2, 2, 0];
    assert.deepEqual(confusionMatrix(gold, pred, 3), [
      [3, 1, 0],
      [0, 1, 1],
      [1, 0, 2],
    ]);
    close(accuracy(gold, pred), 6 / 9);
    const f1 = perClassF1(gold, pred, 3) as number[];
    close(f1[0]!, 0.75);
    close(f1[1]!, 0.5);
    close(f1[2]!, 2 / 3);
    close(macroF1(gold, pred, 3), (0.75 + 0.5 + 2 / 3) / 3);
    // c=6, s=9, p=t=[4,2,3]: (54-29)/sqrt((81-29)(81-29)) = 25/52
    close(mcc(gold, pred, 3), 25 / 52);
    const all = classificationMetrics(gold, pred, 3);
    close(all.accuracy, 6 / 9);
    close(all.macroF1, (0.75 + 0.5 + 2 / 3) / 3);
    close(all.mcc, 25 / 52);
  });

  it("Gorodkin MCC on a known asymmetric confusion matrix", () => {
    // s=20, c=14, t=[7,5,8], p=[6,7,7]: (280-133)/sqrt((400-134)(400-138))
    const m = [
      [5, 2, 0],
      [1, 3, 1],
      [0, 2, 6],
    ];
    close(mccFromMatrix(m), 147 / Math.sqrt(266 * 262));
  });

  it("multiclass MCC equals the correlation of one-hot gold and prediction matrices", () => {
    const rng = new Rng(7);
    const k = 4;
    const gold = Array.from({ length: 200 }, () => rng.int(k));
    const pred = gold.map((g) => (rng.next() < 0.6 ? g : rng.int(k)));
    // R_K = cov(X, Y) / sqrt(cov(X, X) cov(Y, Y)), cov summed over the k one-hot columns.
    const n = gold.length;
    const cov = (a: number[], b: number[]): number => {
      let s = 0;
      for (let c = 0; c < k; c++) {
        const ma = a.filter((x) => x === c).length / n;
        const mb = b.filter((x) => x === c).length / n;
        for (let i = 0; i < n; i++) s += ((a[i] === c ? 1 : 0) - ma) * ((b[i] === c ? 1 : 0) - mb);
      }
      return s;
    };
    close(mcc(gold, pred, k), cov(gold, pred) / Math.sqrt(cov(gold, gold) * cov(pred, pred)), 1e-9);
  });

  it("perfect and inverted predictions", () => {
    assert.equal(mcc([0, 1, 2, 1], [0, 1, 2, 1], 3), 1);
    assert.equal(macroF1([0, 1, 2, 1], [0, 1, 2, 1], 3), 1);
    assert.equal(mcc([0, 1, 0, 1], [1, 0, 1, 0], 2), -1);
  });

  it("MCC is 0 when undefined (constant predictions or constant gold)", () => {
    assert.equal(mcc([0, 1, 2, 1], [1, 1, 1, 1], 3), 0);
    assert.equal(mcc([1, 1, 1], [0, 1, 2], 3), 0);
  });

  it("macroF1 excludes classes with no gold and no predictions; an occurring class with TP=0 counts 0", () => {
    // class 2 never occurs: average over classes 0 and 1 only
    const gold = [0, 1, 0, 1];
    const pred = [0, 1, 1, 1];
    assert.deepEqual(
      perClassF1(gold, pred, 3).map((x) => (x === null ? null : Number(x.toFixed(6)))),
      [0.666667, 0.8, null],
    );
    close(macroF1(gold, pred, 3), (2 / 3 + 0.8) / 2);
    // class 2 is predicted but never gold: it counts, with F1 0
    close(macroF1([0, 1, 0, 1], [0, 1, 2, 1], 3), (2 / 3 + 1 + 0) / 3);
  });

  it("rejects bad input with clear messages", () => {
    assert.throws(() => accuracy([0, 1], [0]), /same length.*gold\.length=2, pred\.length=1/);
    assert.throws(() => accuracy([], []), /no examples/);
    assert.throws(() => macroF1([0, 3], [0, 1], 3), /gold\[1\] must be an integer in \[0, 3\), got 3/);
    assert.throws(() => mcc([0, 1], [0, 1.5], 2), /pred\[1\] must be an integer in \[0, 2\), got 1.5/);
    assert.throws(() => accuracy([0, -1], [0, 1]), /gold\[1\] must be a non-negative integer, got -1/);
    assert.throws(() => confusionMatrix([0], [0], 0), /numClasses must be a positive integer, got 0/);
    assert.throws(() => mccFromMatrix([[1, 2], [3]]), /row 1 must have 2 entries/);
  });

  it("accepts typed arrays", () => {
    close(accuracy(Int32Array.from(gold2), Int32Array.from(pred2)), 0.8);
  });
});
