import assert from "node:assert/strict";
import {
  CELL_DEFAULTS,
  DEFAULT_LR,
  LR_MAX,
  checkOptionsForMethod,
  resolveCellOptions,
} from "../../lib/experiment/cell-options";
import { getMethod, METHODS } from "../../lib/tuning/methods";

const W = "grid.json: cell 3";

describe("experiment/cell-options", () => {
  it("fills defaults without touching the caller's object", () => {
    const given = { steps: 5 };
    const o = resolveCellOptions(given, W);
    assert.equal(o.steps, 5);
    assert.equal(o.batchSize, CELL_DEFAULTS.batchSize);
    assert.deepEqual(given, { steps: 5 });
  });

  // Each nonsense value of issue 14 (and its neighbours) is refused before anything runs, naming the option.
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ weightDecay: -1 }, /grid\.json: cell 3: option weightDecay must be a number >= 0, got -1/],
    [{ warmupSteps: -5 }, /option warmupSteps must be a non-negative integer, got -5/],
    [{ warmupSteps: 1.5 }, /option warmupSteps must be a non-negative integer, got 1\.5/],
    [{ clipNorm: -1 }, /option clipNorm \(0 disables clipping\) must be a number >= 0, got -1/],
    [{ patience: -1 }, /option patience \(0 = never stop early\) must be a non-negative integer, got -1/],
    [{ initRange: -1 }, /option initRange must be a number > 0, got -1/],
    [{ initRange: 0 }, /option initRange must be a number > 0, got 0/],
    [{ lr: 1e30 }, /option lr must be null or a number in \(0, 10\], got 1e\+30/],
    [{ lr: 0 }, /option lr must be null or a number in \(0, 10\], got 0/],
    [{ lr: -3e-2 }, /option lr must be null or a number/],
    [{ lr: Infinity }, /option lr must be null or a number in \(0, 10\], got Infinity/],
    [{ lr: "0.01" }, /option lr must be null or a number in \(0, 10\], got "0\.01"/],
    [{ steps: 0 }, /option steps must be a positive integer, got 0/],
    [{ batchSize: 2.5 }, /option batchSize must be a positive integer, got 2\.5/],
    [{ evalEvery: -1 }, /option evalEvery must be a positive integer/],
    [{ evalBatchSize: 0 }, /option evalBatchSize must be a positive integer/],
    [{ promptLength: 0 }, /option promptLength must be a positive integer/],
    [{ maxDev: 0 }, /option maxDev must be null or a positive integer, got 0/],
    [{ maxTest: -1 }, /option maxTest must be null or a positive integer, got -1/],
    [{ trainPerClass: 0 }, /option trainPerClass must be null or a positive integer/],
    [{ stage1Steps: 0 }, /option stage1Steps must be null or a positive integer/],
    [{ stage1Task: "nope" }, /option stage1Task must be null or one of .*yelp.*, got "nope"/],
    [{ dataSeed: 0.5 }, /option dataSeed must be an integer, got 0\.5/],
    [{ schedule: "cosine" }, /option schedule must be one of warmup-linear, warmup-cosine, constant, got "cosine"/],
    [{ optimizer: "sgd" }, /option optimizer must be one of adamw, adafactor, got "sgd"/],
    [{ promptInit: "text" }, /option promptInit must be one of random-uniform, sampled-vocab, class-label, got "text"/],
    [{ promptPosition: "side" }, /option promptPosition must be front, back, middle .*'side' is not one of/],
    [{ promptPosition: "front+back", promptLength: 1 }, /option promptPosition .*too short to split/],
    [{ checkpoint: "yes" }, /option checkpoint \(activation checkpointing\) must be true or false, got "yes"/],
    [{ learningRate: 0.1 }, /grid\.json: cell 3: unknown option 'learningRate' \(known: steps, /],
  ];
  for (const [options, message] of bad) {
    it(`refuses ${JSON.stringify(options)}`, () => {
      assert.throws(() => resolveCellOptions(options, W), message);
    });
  }

  it("accepts the documented edges: clipNorm 0 (no clipping), patience 0, warmupSteps 0, lr at its bound", () => {
    const o = resolveCellOptions({ clipNorm: 0, patience: 0, warmupSteps: 0, lr: LR_MAX, weightDecay: 0 }, W);
    assert.equal(o.clipNorm, 0);
    assert.equal(o.lr, 10);
    assert.equal(resolveCellOptions({ lr: null, maxDev: null, dataSeed: -7 }, W).dataSeed, -7);
  });

  it("checks what depends on the method: two-stage tuning needs a prompt method; lr x weightDecay < 1", () => {
    const two = { stage1Task: "amazon" };
    assert.throws(
      () => checkOptionsForMethod(resolveCellOptions(two, W), getMethod("full-finetune"), W),
      /option stage1Task .* needs a prompt method \(prompt-tuning, deep-prompt-tuning\), got 'full-finetune'/,
    );
    checkOptionsForMethod(resolveCellOptions(two, W), getMethod("prompt-tuning"), W);
    const wd = { weightDecay: 40 };
    assert.throws(
      () => checkOptionsForMethod(resolveCellOptions(wd, W), getMethod("prompt-tuning"), W),
      /option weightDecay 40 with the default lr 0\.03 of prompt-tuning .* must be < 1/,
    );
    assert.throws(
      () => checkOptionsForMethod(resolveCellOptions({ ...wd, lr: null }, W), getMethod("prompt-tuning"), W),
      /with the default lr 0\.03 of prompt-tuning/,
    );
    assert.throws(
      () => checkOptionsForMethod(resolveCellOptions({ weightDecay: 0.5, lr: 2 }, W), getMethod("prompt-tuning"), W),
      /option weightDecay 0\.5 with lr 2 shrinks weights by lr \* weightDecay = 1 per step; it must be < 1/,
    );
    checkOptionsForMethod(resolveCellOptions(wd, W), getMethod("zero-shot"), W);
    checkOptionsForMethod(resolveCellOptions(wd, W), getMethod("full-finetune"), W);
  });

  it("default learning rates and prompt-ness come from the method registry", () => {
    for (const [name, m] of Object.entries(METHODS)) {
      assert.equal(DEFAULT_LR[name], m.defaultLr);
      assert.equal(m.trains ? m.defaultLr > 0 : m.defaultLr === 0, true, name);
    }
    assert.deepEqual(
      Object.values(METHODS)
        .filter((m) => m.trainsPrompt)
        .map((m) => m.name),
      ["prompt-tuning", "deep-prompt-tuning"],
    );
    assert.equal(DEFAULT_LR["prompt-tuning"], 3e-2);
    assert.equal(DEFAULT_LR["full-finetune"], 3e-4);
  });
});
