import assert from "node:assert/strict";
import { tf } from "../../lib/backend/backend";
import { Transformer, positionsFromMask } from "../../lib/backbone/transformer";
import { lmLoss } from "../../lib/backbone/lm-loss";
import { crossEntropy } from "../../lib/backend/cross-entropy";
import { TINY, assertBackboneUnchanged, assertNoLeak, bitwiseEqual, fakeIds, setupBackend, snapshot } from "../helpers";

describe("Transformer", () => {
  before(setupBackend);

  it("has the expected shapes from embeddings to logits", () => {
    const m = Transformer.create(TINY, 0);
    tf.tidy(() => {
      const x = m.embed(fakeIds(3 * 5, 40), 3, 5);
      assert.deepEqual(x.shape, [3, 5, 16]);
      const h = m.forwardEmbeddings(x, new Uint8Array(15).fill(1));
      assert.deepEqual(h.shape, [3, 5, 16]);
      assert.deepEqual(m.logits(tf.reshape(h, [15, 16])).shape, [15, 40]);
    });
    m.dispose();
  });

  it("is causal: changing a future token leaves earlier logits unchanged", () => {
    const m = Transformer.create(TINY, 1);
    const ids = fakeIds(8, 40, 3);
    const changed = Int32Array.from(ids);
    changed[5] = (changed[5]! + 7) % 40;
    const run = (x: Int32Array) =>
      tf.tidy(() =>
        m.logits(tf.reshape(m.forwardEmbeddings(m.embed(x, 1, 8), new Uint8Array(8).fill(1)), [8, 16])).arraySync(),
      );
    const a = run(ids);
    const b = run(changed);
    for (let t = 0; t < 5; t++) assert.deepEqual(a[t], b[t], `position ${t} changed`);
    assert.notDeepEqual(a[5], b[5], "the changed position itself should differ");
    m.dispose();
  });

  it("ignores padded keys: padding after a sequence does not change its logits", () => {
    const m = Transformer.create(TINY, 2);
    const ids = fakeIds(6, 40, 9);
    const padded = new Int32Array(8);
    padded.set(ids);
    const mask = new Uint8Array([1, 1, 1, 1, 1, 1, 0, 0]);
    const a = tf.tidy(() =>
      m.logits(tf.reshape(m.forwardEmbeddings(m.embed(ids, 1, 6), new Uint8Array(6).fill(1)), [6, 16])).arraySync(),
    );
    const b = tf.tidy(() =>
      m.logits(tf.reshape(m.forwardEmbeddings(m.embed(padded, 1, 8), mask), [8, 16])).arraySync(),
    );
    for (let t = 0; t < 6; t++) a[t]!.forEach((v, j) => assert.ok(Math.abs(v - b[t]![j]!) < 1e-5, `pos ${t}`));
    m.dispose();
  });

  it("derives positions from the mask so left padding does not shift them", () => {
    assert.deepEqual([...positionsFromMask([0, 0, 1, 1, 1], 1, 5)], [0, 0, 0, 1, 2]);
    assert.deepEqual([...positionsFromMask([1, 1, 0, 1], 1, 4)], [0, 1, 1, 2]);
  });

  it("same seed gives the same weights; another seed differs", () => {
    const a = Transformer.create(TINY, 7);
    const b = Transformer.create(TINY, 7);
    const c = Transformer.create(TINY, 8);
    const sa = snapshot(a.variables());
    const sb = snapshot(b.variables());
    const sc = snapshot(c.variables());
    sa.forEach((v, i) => assert.ok(bitwiseEqual(v, sb[i]!)));
    assert.ok(!bitwiseEqual(sa[0]!, sc[0]!));
    [a, b, c].forEach((m) => m.dispose());
  });

  it("frozen: an optimizer step on an outside variable leaves every backbone weight bitwise unchanged, and gradients reach it", () => {
    const m = Transformer.create(TINY, 3);
    m.freeze();
    assert.ok(m.variables().every((v) => !v.trainable));
    const before = snapshot(m.variables());
    const prompt = tf.variable(tf.randomNormal([2, 16], 0, 0.1, "float32", 5), true, "test-prompt");
    const ids = fakeIds(2 * 6, 40, 4);
    const opt = tf.train.adam(0.1);
    const p0 = Float32Array.from(prompt.dataSync() as Float32Array);
    for (let step = 0; step < 3; step++) {
      opt.minimize(
        () => {
          const x = m.embed(ids, 2, 6);
          const pr = tf.tile(tf.expandDims(prompt, 0), [2, 1, 1]) as tf.Tensor3D;
          const h = m.forwardEmbeddings(tf.concat([pr, x], 1), new Uint8Array(16).fill(1));
          const logits = m.logits(tf.reshape(h, [16, 16]));
          return crossEntropy(logits, fakeIds(16, 40, 8), new Float32Array(16).fill(1));
        },
        false,
        [prompt],
      );
    }
    assertBackboneUnchanged(m, before);
    assert.ok(!bitwiseEqual(p0, prompt.dataSync() as Float32Array), "the prompt did not change");
    opt.dispose();
    prompt.dispose();
    m.dispose();
  });

  it("gradients reach the input embeddings (through all blocks)", () => {
    const m = Transformer.create(TINY, 4);
    m.freeze();
    const g = tf.tidy(() => {
      const x = m.embed(fakeIds(10, 40, 2), 2, 5);
      const f = (inp: tf.Tensor) => {
        const h = m.forwardEmbeddings(inp as tf.Tensor3D, new Uint8Array(10).fill(1));
        return tf.sum(m.logits(tf.reshape(h, [10, 16])).slice([9, 0], [1, 40]));
      };
      return tf.grad(f)(x).arraySync() as number[][][];
    });
    // Row 1, last position's loss depends on all of row 1's positions (causal) and none of row 0.
    for (let t = 0; t < 5; t++)
      assert.ok(
        g[1]![t]!.some((v) => v !== 0),
        `no gradient at row 1 position ${t}`,
      );
    for (let t = 0; t < 5; t++)
      assert.ok(
        g[0]![t]!.every((v) => v === 0),
        `gradient leaked into row 0 position ${t}`,
      );
    m.dispose();
  });

  it("full fine-tuning changes every backbone weight and lowers the LM loss", () => {
    const m = Transformer.create(TINY, 5);
    const ids = fakeIds(4 * 12, 40, 11);
    const mask = new Uint8Array(48).fill(1);
    const before = snapshot(m.variables());
    const opt = tf.train.adam(0.01);
    const loss0 = tf.tidy(() => lmLoss(m, ids, mask, 4, 12).dataSync()[0]!);
    for (let i = 0; i < 20; i++) opt.minimize(() => lmLoss(m, ids, mask, 4, 12), false, m.variables());
    const loss1 = tf.tidy(() => lmLoss(m, ids, mask, 4, 12).dataSync()[0]!);
    const after = snapshot(m.variables());
    before.forEach((v, i) => assert.ok(!bitwiseEqual(v, after[i]!), `weight ${m.names()[i]} did not change`));
    assert.ok(loss1 < loss0 - 0.5, `loss ${loss0} -> ${loss1}`);
    opt.dispose();
    m.dispose();
  });

  it("matches tfjs autodiff: fast linear / layer-norm / embedding / cross-entropy gradients", () => {
    const m = Transformer.create(TINY, 6);
    const ids = fakeIds(2 * 5, 40, 12);
    const mask = new Uint8Array(10).fill(1);
    const { grads } = tf.variableGrads(() => lmLoss(m, ids, mask, 2, 5), m.variables());
    // Reference: finite differences on a few coordinates of two weights.
    for (const name of ["h.0.attn.c_attn.weight", "h.1.ln_2.weight", "wte.weight"]) {
      const v = m.param(name);
      const g = grads[v.name]!.dataSync();
      const flat = Float32Array.from(v.dataSync() as Float32Array);
      for (const idx of [0, 7, flat.length - 1]) {
        const eps = 1e-2;
        const at = (delta: number) => {
          const copy = Float32Array.from(flat);
          copy[idx]! += delta;
          v.assign(tf.tensor(copy, v.shape));
          return tf.tidy(() => lmLoss(m, ids, mask, 2, 5).dataSync()[0]!);
        };
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        v.assign(tf.tensor(flat, v.shape));
        assert.ok(
          Math.abs(fd - g[idx]!) < 2e-3 + 0.05 * Math.abs(fd),
          `${name}[${idx}]: analytic ${g[idx]} vs numeric ${fd}`,
        );
      }
    }
    Object.values(grads).forEach((t) => t.dispose());
    m.dispose();
  });

  it("an inference pass frees each block's intermediates as the block returns, with the same outputs as a recorded pass", async () => {
    const b = 2,
      t = 12;
    const ids = fakeIds(b * t, 40, 5);
    const mask = new Uint8Array(b * t).fill(1);
    // activation bytes of an inference pass (tf.profile returns one shared object: read peakBytes at once)
    const inferencePeak = async (m: Transformer) => {
      const weights = tf.memory().numBytes;
      const peak = (
        await tf.profile(() => tf.tidy(() => void m.forwardEmbeddings(m.embed(ids, b, t), mask).dataSync()))
      ).peakBytes;
      return peak - weights;
    };
    const one = Transformer.create({ ...TINY, nLayers: 1 }, 4);
    const six = Transformer.create({ ...TINY, nLayers: 6 }, 4);
    six.freeze();
    const [bytes1, bytes6] = [await inferencePeak(one), await inferencePeak(six)];
    // all six blocks' intermediates held at once would be ~6x one block's
    assert.ok(bytes6 < 2 * bytes1, `6 blocks held ${bytes6} bytes of activations, 1 block ${bytes1}`);
    let recorded: Float32Array | null = null;
    tf.tidy(() =>
      tf.grad((e: tf.Tensor) => {
        const h = six.forwardEmbeddings(e as tf.Tensor3D, mask);
        recorded = h.dataSync() as Float32Array;
        return tf.sum(h);
      })(six.embed(ids, b, t)),
    );
    const inference = tf.tidy(() => six.forwardEmbeddings(six.embed(ids, b, t), mask).dataSync() as Float32Array);
    assert.ok(bitwiseEqual(inference, recorded!), "inference and recorded passes differ");
    one.dispose();
    six.dispose();
  });

  it("leaks no tensors across forward, train step and frozen train step", async () => {
    const m = Transformer.create(TINY, 9);
    const ids = fakeIds(2 * 6, 40, 2);
    const mask = new Uint8Array(12).fill(1);
    const opt = tf.train.sgd(0.01);
    await assertNoLeak("forward", () => tf.tidy(() => lmLoss(m, ids, mask, 2, 6).dataSync()));
    opt.minimize(() => lmLoss(m, ids, mask, 2, 6), false, m.variables()); // creates no state for sgd
    await assertNoLeak("train step", () => {
      const l = opt.minimize(() => lmLoss(m, ids, mask, 2, 6), true, m.variables());
      l?.dispose();
    });
    m.freeze();
    const p = tf.variable(tf.zeros([1, 16]));
    // The first frozen step caches the transposed output matrix (one tensor, kept until unfreeze/dispose).
    const frozenStep = () => {
      const l = opt.minimize(
        () => {
          const x = tf.concat([tf.expandDims(p, 0), m.embed(ids.slice(0, 6), 1, 6)], 1) as tf.Tensor3D;
          const h = m.forwardEmbeddings(x, new Uint8Array(7).fill(1));
          return crossEntropy(m.logits(tf.reshape(h, [7, 16])), fakeIds(7, 40), new Float32Array(7).fill(1));
        },
        true,
        [p],
      );
      l?.dispose();
    };
    frozenStep();
    await assertNoLeak("frozen step", frozenStep);
    p.dispose();
    opt.dispose();
    m.dispose();
  });
});
