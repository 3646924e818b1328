import assert from "node:assert/strict";
import { tf } from "../../lib/backend/backend";
import { BatchSampler, train, type TrainerOptions } from "../../lib/train/trainer";
import { assertNoLeak, setupBackend } from "../helpers";

const OPTS: TrainerOptions = {
  steps: 10,
  batchSize: 2,
  schedule: { kind: "constant", lr: 0.1 },
  weightDecay: 0,
  clipNorm: 0,
  evalEvery: 1,
  patience: 0,
  seed: 0,
};

describe("trainer", function () {
  this.timeout(30000);
  before(setupBackend);

  /** A [1, 2] variable pulled towards 3 by its loss; `scores` scripts the dev score of each evaluation. */
  function setup(scores: number[]) {
    const v = tf.variable(tf.zeros([1, 2]), true, `trainer-test/${Math.random()}`);
    const seen: Float32Array[] = [];
    const evaluate = () => {
      seen.push(Float32Array.from(v.dataSync() as Float32Array));
      return scores[seen.length - 1] ?? 0;
    };
    const loss = () => tf.sum(tf.square(tf.sub(v, 3))) as tf.Scalar;
    return { v, seen, evaluate, loss };
  }

  it("stops after `patience` evaluations without improvement and restores the best variables", async () => {
    const { v, seen, evaluate, loss } = setup([0.5, 0.9, 0.7, 0.6, 0.95]);
    const r = await train([v], loss, 4, evaluate, { ...OPTS, patience: 2 });
    assert.equal(r.steps, 4, "evaluations at steps 1..4; 3 and 4 do not improve on step 2");
    assert.equal(r.stoppedEarly, true);
    assert.equal(r.bestStep, 2);
    assert.equal(r.bestScore, 0.9);
    assert.deepEqual(Array.from(v.dataSync()), Array.from(seen[1]!), "the variables of step 2 are back");
    assert.notDeepEqual(Array.from(seen[3]!), Array.from(seen[1]!), "training did move past step 2");
    assert.deepEqual(
      r.curve.map((c) => c.devScore),
      [0.5, 0.9, 0.7, 0.6],
    );
    v.dispose();
  });

  it("patience 0 never stops early; the best evaluation's variables are kept even if it is not the last", async () => {
    const { v, seen, evaluate, loss } = setup([0.1, 0.8, 0.2, 0.3, 0.3, 0.3]);
    const r = await train([v], loss, 4, evaluate, { ...OPTS, steps: 6 });
    assert.equal(r.steps, 6);
    assert.equal(r.stoppedEarly, false);
    assert.equal(r.bestStep, 2);
    assert.deepEqual(Array.from(v.dataSync()), Array.from(seen[1]!));
    v.dispose();
  });

  it("evaluates every evalEvery steps and at the end", async () => {
    const { v, evaluate, loss } = setup([]);
    const r = await train([v], loss, 4, evaluate, { ...OPTS, steps: 7, evalEvery: 3 });
    assert.deepEqual(
      r.curve.map((c) => c.step),
      [3, 6, 7],
    );
    v.dispose();
  });

  it("stops with a clear message on a non-finite loss, and leaks nothing", async () => {
    const { v, evaluate } = setup([]);
    await assert.rejects(
      train([v], () => tf.div(tf.sum(v), 0) as tf.Scalar, 4, evaluate, OPTS),
      /training stopped at step 1 of 10: loss (Infinity|NaN).*not finite.*lower the learning rate/,
    );
    const { v: w, evaluate: ev, loss } = setup([0.1, 0.2]);
    await train([w], loss, 4, ev, { ...OPTS, steps: 2 }); // warm-up: first-use kernels are not leaks
    await assertNoLeak("train", () => train([w], loss, 4, ev, { ...OPTS, steps: 2 }));
    v.dispose();
    w.dispose();
  });

  it("BatchSampler visits every example once per epoch, seeded", () => {
    const s = new BatchSampler(5, 2, 7);
    const epoch = [...s.next(), ...s.next(), ...s.next().slice(0, 1)];
    assert.deepEqual([...epoch].sort(), [0, 1, 2, 3, 4]);
    const again = new BatchSampler(5, 2, 7);
    assert.deepEqual(again.next(), epoch.slice(0, 2));
    assert.throws(() => new BatchSampler(0, 2, 0), /no training examples/);
  });
});
