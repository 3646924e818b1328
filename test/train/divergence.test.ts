import assert from "node:assert/strict";
import { tf } from "../../lib/backend/backend";
import { DIVERGENCE_FACTOR, DivergenceWatch } from "../../lib/train/divergence";
import { train } from "../../lib/train/trainer";
import { setupBackend } from "../helpers";

describe("train/divergence", () => {
  before(setupBackend);

  it("lets a noisy healthy run through, one bad batch included", () => {
    const w = new DivergenceWatch();
    const losses = [0.7, 0.9, 0.5, 6, 0.4, 0.3, 2.5, 0.2, 0.1, 0.05];
    losses.forEach((l, i) => w.observe(l, i + 1, losses.length));
  });

  it("stops a run whose loss explodes far above its start, naming step and losses", () => {
    const w = new DivergenceWatch();
    w.observe(0.69, 1, 30);
    assert.throws(
      () => w.observe(5e30, 2, 30),
      /training diverged at step 2 of 30: mean training loss of the last 2 step\(s\) 2\.50e\+30 is over 10x its start \(0\.690\); lower the learning rate/,
    );
  });

  it("uses a floor of 1 nat for the start, so a run starting near 0 is not failed by noise", () => {
    const w = new DivergenceWatch();
    w.observe(0.01, 1, 10);
    for (let s = 2; s <= 6; s++) w.observe(DIVERGENCE_FACTOR * 0.9, s, 10);
    assert.throws(() => w.observe(DIVERGENCE_FACTOR * 3, 7, 10), /diverged at step 7/);
  });

  it("the trainer fails a diverging run instead of returning it", async () => {
    // Adam moves each weight by about lr per step: with lr 1e6 a quadratic's loss explodes (finite) within 2 steps.
    const v = tf.variable(tf.tensor1d([0.5, -0.5]), true, `div-test-${Date.now()}`);
    const loss = () => tf.tidy(() => tf.sum(tf.square(tf.sub(v, 1))) as tf.Scalar);
    const opts = {
      steps: 20,
      batchSize: 1,
      schedule: { kind: "constant" as const, lr: 1e6 },
      weightDecay: 0,
      clipNorm: 0,
      evalEvery: 10,
      patience: 0,
      seed: 0,
    };
    await assert.rejects(
      train([v], loss, 4, () => 0, opts),
      /training diverged at step \d+ of 20/,
    );
    // The same problem at a sane rate trains to the end.
    v.assign(tf.tensor1d([0.5, -0.5]));
    const ok = await train([v], loss, 4, () => 0, { ...opts, schedule: { kind: "constant", lr: 0.05 } });
    assert.equal(ok.steps, 20);
    v.dispose();
  });
});
