import assert from "node:assert/strict";
import { tf } from "../../lib/backend/backend";
import { crossEntropy } from "../../lib/backend/cross-entropy";
import type { TransformerConfig } from "../../lib/backbone/config";
import { ForwardOptions, Transformer } from "../../lib/backbone/transformer";
import { assertNoLeak, bitwiseEqual, fakeIds, setupBackend } from "../helpers";

const SMALL: Partial<TransformerConfig> = Object.freeze({
  vocabSize: 50,
  maxLen: 16,
  dModel: 16,
  nLayers: 2,
  nHeads: 2,
  dFF: 32,
});
const B = 2;
const T = 7;
/** Row 0 is left-padded by two, row 1 right-padded by one. */
const MASK = new Uint8Array([0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
const IDS = fakeIds(B * T, 50, 3);
const TARGETS = fakeIds(B * T, 50, 5);

/** A scalar that depends on every output row (weighted so each position's gradient differs). */
function lossOf(m: Transformer, h: tf.Tensor3D): tf.Scalar {
  return crossEntropy(
    m.logits(tf.reshape(h, [B * T, m.config.dModel]) as tf.Tensor2D),
    TARGETS,
    Float32Array.from(MASK),
  );
}

/** max |a - b| <= tol * max |b| (relative to the gradient's scale, so near-zero entries do not dominate). */
function assertClose(a: Float32Array, b: Float32Array, label: string, tol = 1e-5): void {
  assert.equal(a.length, b.length, `${label}: lengths differ`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  assert.ok(scale > 0, `${label}: gradient is all zeros`);
  assert.ok(diff <= tol * scale, `${label}: max difference ${diff} exceeds ${tol} x ${scale}`);
}

/** Gradients of `loss` w.r.t. `vars`, as arrays, with the tensors disposed. */
function gradArrays(vars: tf.Variable[], loss: () => tf.Scalar): Float32Array[] {
  const { value, grads } = tf.variableGrads(loss, vars);
  const out = vars.map((v) => Float32Array.from(grads[v.name]!.dataSync() as Float32Array));
  value.dispose();
  Object.values(grads).forEach((g) => g.dispose());
  return out;
}

/** Peak tensor bytes of one backward pass (loss and gradients), tf.profile's peakBytes. */
async function peakOfBackward(vars: tf.Variable[], loss: () => tf.Scalar): Promise<number> {
  const info = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(loss, vars);
    value.dispose();
    Object.values(grads).forEach((g) => g.dispose());
  });
  return info.peakBytes;
}

/** Replaces Math.random with a fixed sequence while `fn` runs (dropout seeds are drawn from it). */
function withFixedRandom<T>(seed: number, fn: () => T): T {
  const original = Math.random;
  let s = seed >>> 0;
  Math.random = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  try {
    return fn();
  } finally {
    Math.random = original;
  }
}

describe("activation checkpointing", () => {
  before(setupBackend);

  it("gives a bitwise identical forward output (frozen and trainable, padded batch)", () => {
    const m = Transformer.create(SMALL, 1);
    const run = (opts: ForwardOptions) =>
      tf.tidy(() => m.forwardEmbeddings(m.embed(IDS, B, T), MASK, opts).dataSync() as Float32Array);
    assert.ok(bitwiseEqual(run({ checkpoint: true }), run({})), "trainable model: outputs differ");
    m.freeze();
    assert.ok(bitwiseEqual(run({ checkpoint: true }), run({ checkpoint: false })), "frozen model: outputs differ");
    m.dispose();
  });

  it("frozen backbone: gradients w.r.t. the input embeddings and a prompt variable match", () => {
    const m = Transformer.create(SMALL, 2);
    m.freeze();
    const prompt = tf.variable(tf.randomNormal([2, 16], 0, 0.5, "float32", 7), true, "ckpt-test-prompt");
    const x = tf.variable(
      tf.tidy(() => m.embed(IDS, B, T)),
      true,
      "ckpt-test-x",
    );
    // The prompt overwrites the first two rows of every sequence; x gets gradients at all other rows.
    const loss = (checkpoint: boolean) => () => {
      const pr = tf.tile(tf.expandDims(prompt, 0), [B, 1, 1]) as tf.Tensor3D;
      const inp = tf.concat([pr, tf.slice(x, [0, 2, 0], [B, T - 2, 16])], 1) as tf.Tensor3D;
      return lossOf(m, m.forwardEmbeddings(inp, MASK, { checkpoint }));
    };
    const [gp, gx] = gradArrays([prompt, x], loss(false));
    const [gpC, gxC] = gradArrays([prompt, x], loss(true));
    assertClose(gpC!, gp!, "prompt gradient");
    assertClose(gxC!, gx!, "input gradient");
    prompt.dispose();
    x.dispose();
    m.dispose();
  });

  it("trainable backbone: the gradient of every weight matches", () => {
    const m = Transformer.create(SMALL, 3);
    const loss = (checkpoint: boolean) => () =>
      lossOf(m, m.forwardEmbeddings(m.embed(IDS, B, T), MASK, { checkpoint }));
    const plain = gradArrays(m.variables(), loss(false));
    const ckpt = gradArrays(m.variables(), loss(true));
    assert.equal(ckpt.length, m.names().length);
    m.names().forEach((name, i) => assertClose(ckpt[i]!, plain[i]!, name));
    m.dispose();
  });

  it("with a layerHook (deep prompts between blocks): hook, input and weight gradients match", () => {
    for (const frozen of [true, false]) {
      const m = Transformer.create(SMALL, 4);
      if (frozen) m.freeze();
      const deep = tf.variable(tf.randomNormal([B * T, 16], 0, 0.5, "float32", 9), true, `ckpt-test-deep-${frozen}`);
      // Rows 2 and 9 (one per sequence) are replaced by the hook's vector before block 1.
      const keep = tf.tensor2d(
        Array.from({ length: B * T }, (_, r) => (r === 2 || r === 9 ? 0 : 1)),
        [B * T, 1],
      );
      const hook = (layer: number, h: tf.Tensor2D) => {
        assert.equal(layer, 1);
        return tf.add(tf.mul(h, keep), tf.mul(deep, tf.sub(1, keep))) as tf.Tensor2D;
      };
      const vars = frozen ? [deep] : [deep, ...m.variables()];
      const loss = (checkpoint: boolean) => () =>
        lossOf(m, m.forwardEmbeddings(m.embed(IDS, B, T), MASK, { checkpoint, layerHook: hook }));
      const plain = gradArrays(vars, loss(false));
      const ckpt = gradArrays(vars, loss(true));
      vars.forEach((v, i) => assertClose(ckpt[i]!, plain[i]!, `${frozen ? "frozen" : "trainable"}: ${v.name}`));
      keep.dispose();
      deep.dispose();
      m.dispose();
    }
  });

  it("with dropout: the recomputed block reuses its forward pass's dropout masks", () => {
    const m = Transformer.create({ ...SMALL, dropout: 0.3 }, 5);
    const loss = (checkpoint: boolean) => () =>
      lossOf(m, m.forwardEmbeddings(m.embed(IDS, B, T), MASK, { checkpoint, training: true }));
    const plain = withFixedRandom(11, () => gradArrays(m.variables(), loss(false)));
    const ckpt = withFixedRandom(11, () => gradArrays(m.variables(), loss(true)));
    m.names().forEach((name, i) => assertClose(ckpt[i]!, plain[i]!, name));
    // Dropout is really on: other seeds give other gradients.
    const other = withFixedRandom(12, () => gradArrays(m.variables(), loss(true)));
    assert.ok(!bitwiseEqual(other[2]!, plain[2]!), "dropout had no effect");
    m.dispose();
  });

  it("leaks no tensor: a checkpointed gradient step, an optimizer step and inference", async () => {
    const m = Transformer.create(SMALL, 6);
    const loss = () => lossOf(m, m.forwardEmbeddings(m.embed(IDS, B, T), MASK, { checkpoint: true }));
    await assertNoLeak("checkpointed variableGrads", () => gradArrays(m.variables(), loss));
    const opt = tf.train.adam(0.01);
    opt.minimize(loss, false, m.variables()); // creates the optimizer's slots once
    await assertNoLeak("checkpointed optimizer step", () => opt.minimize(loss, false, m.variables()));
    await assertNoLeak("checkpointed inference", () =>
      tf.tidy(() => void m.forwardEmbeddings(m.embed(IDS, B, T), MASK, { checkpoint: true })),
    );
    m.freeze();
    const frozenGrad = () =>
      tf.tidy(
        () =>
          void tf.grad((x: tf.Tensor) => lossOf(m, m.forwardEmbeddings(x as tf.Tensor3D, MASK, { checkpoint: true })))(
            m.embed(IDS, B, T),
          ),
      );
    frozenGrad(); // a frozen model caches its transposed output matrix on first use
    await assertNoLeak("checkpointed frozen tf.grad", frozenGrad);
    opt.dispose();
    m.dispose();
  });

  it("lowers the peak tensor memory of a backward pass over a 4-layer model", async () => {
    const m = Transformer.create({ ...SMALL, nLayers: 4, dModel: 32, dFF: 128, maxLen: 32 }, 7);
    const ids = fakeIds(4 * 32, 50, 8);
    const targets = fakeIds(4 * 32, 50, 9);
    const mask = new Uint8Array(4 * 32).fill(1);
    const loss = (checkpoint: boolean) => () => {
      const h = m.forwardEmbeddings(m.embed(ids, 4, 32), mask, { checkpoint });
      return crossEntropy(
        m.logits(tf.reshape(h, [4 * 32, 32]) as tf.Tensor2D),
        targets,
        new Float32Array(4 * 32).fill(1),
      );
    };
    const full = [await peakOfBackward(m.variables(), loss(false)), await peakOfBackward(m.variables(), loss(true))];
    assert.ok(full[1]! < full[0]!, `trainable: checkpointed peak ${full[1]} >= plain ${full[0]}`);
    m.freeze();
    const x = tf.variable(
      tf.tidy(() => m.embed(ids, 4, 32)),
      true,
      "ckpt-peak-x",
    );
    const lossX = (checkpoint: boolean) => () => {
      const h = m.forwardEmbeddings(x, mask, { checkpoint });
      return crossEntropy(
        m.logits(tf.reshape(h, [4 * 32, 32]) as tf.Tensor2D),
        targets,
        new Float32Array(4 * 32).fill(1),
      );
    };
    const frozen = [await peakOfBackward([x], lossX(false)), await peakOfBackward([x], lossX(true))];
    assert.ok(frozen[1]! < frozen[0]!, `frozen: checkpointed peak ${frozen[1]} >= plain ${frozen[0]}`);
    x.dispose();
    m.dispose();
  });

  it("the model default applies when a forward pass does not say, and an explicit option overrides it", async () => {
    const m = Transformer.create({ ...SMALL, nLayers: 4 }, 8);
    assert.equal(m.activationCheckpointing, false);
    const loss = (opts: ForwardOptions) => () => lossOf(m, m.forwardEmbeddings(m.embed(IDS, B, T), MASK, opts));
    const plain = await peakOfBackward(m.variables(), loss({}));
    const ckpt = await peakOfBackward(m.variables(), loss({ checkpoint: true }));
    m.setActivationCheckpointing(true);
    assert.equal(m.activationCheckpointing, true);
    assert.equal(await peakOfBackward(m.variables(), loss({})), ckpt, "model default on: not checkpointed");
    assert.equal(
      await peakOfBackward(m.variables(), loss({ checkpoint: false })),
      plain,
      "checkpoint: false did not override",
    );
    assert.throws(
      () => m.setActivationCheckpointing("yes" as unknown as boolean),
      /setActivationCheckpointing: expected a boolean, got "yes"/,
    );
    m.dispose();
  });
});
