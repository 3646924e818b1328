import assert from "node:assert/strict";
import { sizeConfig } from "../../lib/backbone/sizes";
import {
  PRETRAIN_FLAGS,
  PretrainOptions,
  checkPretrainOptions,
  checkPretrainStreams,
} from "../../lib/pretrain/pretrain-options";

const OK: PretrainOptions = {
  config: sizeConfig("kit-nano"),
  seed: 0,
  steps: 10,
  batch: 2,
  length: 16,
  lr: 1e-3,
  warmupSteps: 0,
  minLrRatio: 0.1,
  weightDecay: 0.01,
  clipNorm: 1,
  evalEvery: 5,
  evalTokens: 64,
  ckptSeconds: 0,
  logEvery: 1,
};

describe("pretrain options", () => {
  it("accepts a valid run, including zero warmup, weight decay, clip norm and checkpoint interval", () => {
    checkPretrainOptions(OK);
    checkPretrainOptions({ ...OK, weightDecay: 0, clipNorm: 0 }, PRETRAIN_FLAGS);
  });

  it("refuses every out-of-range option, named by field for the library and by flag for the CLI", () => {
    const cases: [Partial<PretrainOptions>, string, string][] = [
      [
        { steps: 0 },
        "pretrain options: steps must be a positive integer, got 0",
        "--steps must be a positive integer, got 0",
      ],
      [
        { steps: 2.5 },
        "pretrain options: steps must be a positive integer, got 2.5",
        "--steps must be a positive integer, got 2.5",
      ],
      [
        { batch: 0 },
        "pretrain options: batch must be a positive integer, got 0",
        "--batch must be a positive integer, got 0",
      ],
      [
        { length: 1 },
        "pretrain options: length must be an integer in [2, 128], got 1",
        "--length must be an integer in [2, 128], got 1",
      ],
      [
        { length: 129 },
        "pretrain options: length must be an integer in [2, 128], got 129",
        "--length must be an integer in [2, 128], got 129",
      ],
      [{ lr: 0 }, "pretrain options: lr must be a number > 0, got 0", "--lr must be a number > 0, got 0"],
      [{ lr: NaN }, "pretrain options: lr must be a number > 0, got NaN", "--lr must be a number > 0, got NaN"],
      [
        { seed: -1 },
        "pretrain options: seed must be a non-negative integer, got -1",
        "--seed must be a non-negative integer, got -1",
      ],
      [
        { warmupSteps: -5 },
        "pretrain options: warmupSteps must be a non-negative integer, got -5",
        "--warmup must be a non-negative integer, got -5",
      ],
      [
        { minLrRatio: 2 },
        "pretrain options: minLrRatio must be a number in [0, 1], got 2",
        "minLrRatio must be a number in [0, 1], got 2",
      ],
      [
        { weightDecay: -1 },
        "pretrain options: weightDecay must be a number >= 0, got -1",
        "--weight-decay must be a number >= 0, got -1",
      ],
      [
        { clipNorm: -1 },
        "pretrain options: clipNorm must be a number >= 0, got -1",
        "clipNorm must be a number >= 0, got -1",
      ],
      [
        { evalEvery: 0 },
        "pretrain options: evalEvery must be a positive integer, got 0",
        "--eval-every must be a positive integer, got 0",
      ],
      [
        { evalTokens: 31 },
        "pretrain options: evalTokens must be an integer >= 32 (one batch: batch 2 x length 16), got 31",
        "--eval-tokens must be an integer >= 32 (one batch: --batch 2 x --length 16), got 31",
      ],
      [
        { ckptSeconds: -1 },
        "pretrain options: ckptSeconds must be a number >= 0, got -1",
        "--ckpt-seconds must be a number >= 0, got -1",
      ],
      [
        { logEvery: 0 },
        "pretrain options: logEvery must be a positive integer, got 0",
        "--log-every must be a positive integer, got 0",
      ],
    ];
    for (const [change, library, cli] of cases) {
      assert.throws(
        () => checkPretrainOptions({ ...OK, ...change }),
        (e: Error) => e.message === library,
        library,
      );
      assert.throws(
        () => checkPretrainOptions({ ...OK, ...change }, PRETRAIN_FLAGS),
        (e: Error) => e.message === cli,
        cli,
      );
    }
  });

  it("refuses token streams shorter than one training window or one validation batch", () => {
    checkPretrainStreams(new Int32Array(17), new Int32Array(32), OK);
    assert.throws(
      () => checkPretrainStreams(new Int32Array(16), new Int32Array(32), OK),
      /training stream holds 16 tokens, fewer than one window of length 16 \(\+1\)/,
    );
    assert.throws(
      () => checkPretrainStreams(new Int32Array(100), new Int32Array(31), OK, PRETRAIN_FLAGS),
      /validation stream holds 31 tokens, fewer than one evaluation batch \(--batch 2 x --length 16 = 32\)/,
    );
  });
});
