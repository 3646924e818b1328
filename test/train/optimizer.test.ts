import assert from "node:assert/strict";
import { tf } from "../../lib/backend/backend";
import { Adafactor } from "../../lib/train/adafactor";
import { AdamW } from "../../lib/train/adamw";
import { makeOptimizer, optimizerStateSize } from "../../lib/train/optimizer";
import { assertNoLeak, setupBackend } from "../helpers";

/** Loss whose gradient w.r.t. each variable is the given constant: sum(c ⊙ x). */
const linearLoss = (vars: tf.Variable[], cs: number[][]) => () =>
  tf.addN(vars.map((v, i) => tf.sum(tf.mul(v, tf.tensor(cs[i]!, v.shape))))) as tf.Scalar;

const close = (got: ArrayLike<number>, want: number[], tol = 1e-5, what = "values"): void => {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++)
    assert.ok(
      Math.abs(got[i]! - want[i]!) <= tol * Math.max(1, Math.abs(want[i]!)),
      `${what}[${i}]: got ${got[i]}, want ${want[i]}`,
    );
};

describe("optimizers", function () {
  this.timeout(30000);
  before(setupBackend);

  it("Adafactor's first two steps on a matrix equal the paper's factored update, computed by hand", () => {
    const x0 = [1, 2, 3, 4, 5, 6];
    const x = tf.variable(tf.tensor(x0, [2, 3]), true, "af-x");
    const g = [0.5, -1, 2, 0.25, 1, -0.5];
    const opt = new Adafactor([x], { clipNorm: 0, clipThreshold: 0 });
    const lr = 0.1;
    // Reference: R_i = mean_j g², C_j = mean_i g² (β2(1) = 0), V_ij = R_i C_j / mean(R), u = g / √V.
    const ref = (grad: number[], R: number[], C: number[]) => {
      const mR = (R[0]! + R[1]!) / 2;
      return grad.map((gi, k) => gi / Math.sqrt((R[Math.floor(k / 3)]! * C[k % 3]!) / mR));
    };
    const g2 = g.map((v) => v * v + 1e-30);
    const R1 = [0, 1].map((i) => (g2[3 * i]! + g2[3 * i + 1]! + g2[3 * i + 2]!) / 3);
    const C1 = [0, 1, 2].map((j) => (g2[j]! + g2[3 + j]!) / 2);
    opt.step(linearLoss([x], [g]), lr);
    const u1 = ref(g, R1, C1);
    const x1 = x0.map((v, k) => v - lr * u1[k]!);
    close(x.dataSync(), x1, 1e-5, "after step 1");
    // Step 2, another gradient: β2(2) = 1 − 2^−0.8 mixes the new squared means into the old.
    const h = [1, 0.5, -3, 2, -0.25, 0.75];
    const h2 = h.map((v) => v * v + 1e-30);
    const b2 = 1 - Math.pow(2, -0.8);
    const R2 = [0, 1].map((i) => b2 * R1[i]! + ((1 - b2) * (h2[3 * i]! + h2[3 * i + 1]! + h2[3 * i + 2]!)) / 3);
    const C2 = [0, 1, 2].map((j) => b2 * C1[j]! + ((1 - b2) * (h2[j]! + h2[3 + j]!)) / 2);
    opt.step(linearLoss([x], [h]), lr);
    const u2 = ref(h, R2, C2);
    close(
      x.dataSync(),
      x1.map((v, k) => v - lr * u2[k]!),
      1e-5,
      "after step 2",
    );
    assert.equal(opt.stateSize, 2 + 3, "n + m second-moment numbers for an n x m matrix");
    assert.equal(opt.steps, 2);
    opt.dispose();
    x.dispose();
  });

  it("Adafactor on vectors: unfactored second moment; update clipping caps the RMS; weight decay and parameter scaling", () => {
    const b = tf.variable(tf.tensor([1, -1, 2, 0.5]), true, "af-b");
    const g = [3, -0.1, 0.2, 1];
    // Step 1 with β2 = 0: u = g / |g| = sign(g), RMS 1; threshold 0.5 halves it.
    const opt = new Adafactor(
      [b],
      { clipNorm: 0, clipThreshold: 0.5, weightDecay: 0.1, scaleParameter: true },
      () => true,
    );
    opt.step(linearLoss([b], [g]), 0.2);
    const x0 = [1, -1, 2, 0.5];
    const rms = Math.sqrt(x0.reduce((s, v) => s + v * v, 0) / 4);
    const alpha = 0.2 * rms;
    close(
      b.dataSync(),
      x0.map((v, i) => v - alpha * 0.5 * Math.sign(g[i]!) - alpha * 0.1 * v),
      1e-5,
    );
    assert.equal(opt.stateSize, 4);
    opt.dispose();
    b.dispose();
  });

  it("Adafactor with momentum, and save/restore reproduces the next step exactly", () => {
    const mk = (name: string) =>
      tf.variable(
        tf.tensor([
          [0.3, -0.2],
          [0.1, 0.4],
          [0.0, 0.9],
        ]),
        true,
        name,
      );
    const loss = (v: tf.Variable) => () => tf.sum(tf.square(tf.sub(v, 1))) as tf.Scalar;
    const a = mk("af-m");
    const optA = new Adafactor([a], { beta1: 0.9 });
    for (let i = 0; i < 3; i++) optA.step(loss(a), 0.05);
    const saved = optA.state();
    assert.equal(optA.stateSize, 3 + 2 + 6);
    const b = mk("af-m2");
    b.assign(a);
    const optB = new Adafactor([b], { beta1: 0.9 });
    optB.restore(saved);
    optA.step(loss(a), 0.05);
    optB.step(loss(b), 0.05);
    assert.deepEqual(Array.from(b.dataSync()), Array.from(a.dataSync()));
    assert.throws(
      () => optB.restore({ step: 1, slots: [[new Float32Array(2)]] }),
      /slot 0 \('af-m2'\) has sizes \[2\], expected \[3,2,6\]/,
    );
    [optA, optB].forEach((o) => o.dispose());
    [a, b].forEach((v) => v.dispose());
  });

  it("both optimizers minimise a least-squares problem, refuse frozen variables and leak nothing", async () => {
    for (const name of ["adamw", "adafactor"]) {
      const w = tf.variable(tf.zeros([4, 3]), true, `ls-${name}`);
      const xs = tf.tensor(
        Array.from({ length: 32 }, (_, i) => Math.sin(i * 1.7)),
        [8, 4],
      );
      const target = tf.matMul(
        xs,
        tf.tensor(
          Array.from({ length: 12 }, (_, i) => (i % 5) - 2),
          [4, 3],
        ),
      );
      const loss = () => tf.mean(tf.square(tf.sub(tf.matMul(xs, w), target))) as tf.Scalar;
      const opt = makeOptimizer(name, [w], { weightDecay: 0, clipNorm: 0 });
      const first = opt.step(loss, 0.05).loss;
      await assertNoLeak(`${name} step`, () => opt.step(loss, 0.05));
      let last = first;
      for (let i = 0; i < 300; i++) last = opt.step(loss, 0.05).loss;
      assert.ok(last < first * 0.05, `${name}: loss ${first} -> ${last}`);
      assert.equal(opt.stateSize, optimizerStateSize(name, [[4, 3]]));
      opt.dispose();
      [w, xs, target].forEach((t) => t.dispose());
    }
    const frozen = tf.variable(tf.zeros([2, 2]), false, "frozen-w");
    assert.throws(() => new Adafactor([frozen]), /'frozen-w' is not trainable/);
    assert.throws(
      () => makeOptimizer("sgd", [frozen], { weightDecay: 0, clipNorm: 0 }),
      /unknown optimizer 'sgd' \(known: adamw, adafactor\)/,
    );
    assert.throws(
      () => new Adafactor([tf.variable(tf.zeros([2]), true, "af-bad")], { decayRate: 0.5 }),
      /decayRate must be < 0/,
    );
    frozen.dispose();
  });

  it("counts state: AdamW 2 per scalar; Adafactor n + m per matrix, full for vectors", () => {
    assert.equal(optimizerStateSize("adamw", [[20, 128], [128]]), 2 * (2560 + 128));
    assert.equal(optimizerStateSize("adafactor", [[20, 128], [128]]), 20 + 128 + 128);
    assert.equal(optimizerStateSize("adafactor", [[6, 20, 128]]), 120 + 128, "leading dims are rows");
    const v = tf.variable(tf.zeros([5, 7]), true, "count-w");
    const o = new AdamW([v]);
    assert.equal(o.stateSize, 70);
    o.dispose();
    v.dispose();
  });
});
