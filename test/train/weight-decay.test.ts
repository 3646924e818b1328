/**
 * The one weight-decay rule (lib/train/weight-decay.ts): which parameters decay, and that both training loops
 * apply it. A loss with zero gradient isolates the decay: AdamW's Adam update is then exactly 0, so a decayed
 * parameter becomes p * (1 - lr * weightDecay) and every other parameter keeps its bits.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { tf } from "../../lib/backend/backend";
import { resolveConfig } from "../../lib/backbone/config";
import { lmLoss } from "../../lib/backbone/lm-loss";
import { Transformer } from "../../lib/backbone/transformer";
import { PretrainOptions, pretrain } from "../../lib/pretrain/pretrainer";
import { train } from "../../lib/train/trainer";
import { decayFilter, decays } from "../../lib/train/weight-decay";
import { TINY, fakeIds, setupBackend, snapshot } from "../helpers";

/** Names whose values shrank by exactly (1 - lr * wd) (within float32 rounding); the rest must be bitwise equal. */
function decayedNames(
  names: readonly string[],
  before: Float32Array[],
  after: Float32Array[],
  factor: number,
): string[] {
  const out: string[] = [];
  names.forEach((name, i) => {
    const a = before[i]!;
    const b = after[i]!;
    if (a.every((x, j) => x === b[j])) return;
    a.forEach((x, j) =>
      assert.ok(Math.abs(b[j]! - x * factor) <= 1e-6 * Math.abs(x) + 1e-12, `${name}[${j}]: ${b[j]} vs ${x * factor}`),
    );
    out.push(name);
  });
  return out;
}

const MATRICES = [
  "wte.weight",
  "wpe.weight",
  ...[0, 1].flatMap((i) =>
    ["attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight"].map((n) => `h.${i}.${n}`),
  ),
];

describe("train/weight-decay", () => {
  before(setupBackend);

  it("decays matrices (weights, embeddings, prompts) and no vector (biases, LayerNorm gains and shifts)", () => {
    assert.equal(decays([5, 3]), true);
    assert.equal(decays([2, 5, 3]), true);
    assert.equal(decays([3]), false);
    assert.equal(decays([]), false);
    const model = Transformer.create(resolveConfig(TINY), 1);
    const decayed = decayFilter(model.variables());
    const names = model.names().filter((n) => decayed(model.param(n).name));
    assert.deepEqual(names.sort(), [...MATRICES].sort());
    model.dispose();
  });

  it("the pre-training loop applies it", async () => {
    const config = resolveConfig(TINY);
    const o: PretrainOptions = {
      config,
      seed: 0,
      steps: 1,
      batch: 2,
      length: 8,
      lr: 0.1,
      warmupSteps: 0,
      minLrRatio: 1,
      weightDecay: 0.5,
      clipNorm: 1,
      evalEvery: 1,
      evalTokens: 16,
      ckptSeconds: 1e9,
      logEvery: 100,
    };
    const start = Transformer.create(config, o.seed);
    const names = start.names();
    const before = snapshot(names.map((n) => start.param(n)));
    start.dispose();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kit-wd-"));
    try {
      const zeroGrad = (m: Transformer, b: { ids: Int32Array; mask: Uint8Array; batch: number; length: number }) =>
        tf.mul(lmLoss(m, b.ids, b.mask, b.batch, b.length, true), 0) as tf.Scalar;
      const r = await pretrain(dir, fakeIds(200, 40, 1), fakeIds(100, 40, 2), o, {
        loss: zeroGrad,
        log: () => undefined,
      });
      const after = snapshot(names.map((n) => r.model.param(n)));
      assert.deepEqual(decayedNames(names, before, after, 1 - o.lr * o.weightDecay).sort(), [...MATRICES].sort());
      r.model.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the fine-tuning trainer applies it (a prompt matrix decays, a bias vector does not)", async () => {
    const prompt = tf.variable(
      tf.tensor2d([
        [1, 2],
        [3, 4],
      ]),
      true,
      "wd-test/prompt",
    );
    const bias = tf.variable(tf.tensor1d([1, -1]), true, "wd-test/bias");
    const zero = () => tf.mul(tf.add(tf.sum(prompt), tf.sum(bias)), 0) as tf.Scalar;
    await train([prompt, bias], zero, 4, () => 0, {
      steps: 1,
      batchSize: 1,
      schedule: { kind: "constant", lr: 0.1 },
      weightDecay: 0.5,
      clipNorm: 1,
      evalEvery: 100,
      patience: 0,
      seed: 0,
    });
    assert.deepEqual(Array.from(bias.dataSync()), [1, -1]);
    const p = Array.from(prompt.dataSync());
    [1, 2, 3, 4].forEach((x, i) => assert.ok(Math.abs(p[i]! - x * 0.95) < 1e-6, `prompt[${i}] ${p[i]}`));
    prompt.dispose();
    bias.dispose();
  });
});
