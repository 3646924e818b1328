import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { resolveConfig } from "../../lib/backbone/config";
import { PretrainOptions, pretrain } from "../../lib/pretrain/pretrainer";
import { trainingBatch } from "../../lib/pretrain/batches";
import { learningRateAt } from "../../lib/train/schedule";
import { TINY, bitwiseEqual, fakeIds, setupBackend, snapshot } from "../helpers";

const OPTIONS: PretrainOptions = {
  config: resolveConfig(TINY),
  seed: 3,
  steps: 6,
  batch: 2,
  length: 8,
  lr: 1e-2,
  warmupSteps: 2,
  minLrRatio: 0.1,
  weightDecay: 0.01,
  clipNorm: 1,
  evalEvery: 3,
  evalTokens: 64,
  ckptSeconds: 0,
  logEvery: 100,
};

describe("pretrain", () => {
  before(setupBackend);
  const train = fakeIds(500, 40, 1);
  const val = fakeIds(200, 40, 2);
  const quiet = { log: () => undefined };

  it("a run stopped midway and resumed ends bitwise identical to an uninterrupted run", async () => {
    const dirA = fs.mkdtempSync(path.join(os.tmpdir(), "kit-pt-a-"));
    const dirB = fs.mkdtempSync(path.join(os.tmpdir(), "kit-pt-b-"));
    const a = await pretrain(dirA, train, val, OPTIONS, quiet);
    assert.ok(a.finished);
    let calls = 0;
    const first = await pretrain(dirB, train, val, OPTIONS, { ...quiet, shouldStop: () => ++calls > 4 });
    assert.equal(first.finished, false);
    assert.equal(first.state.step, 4);
    first.model.dispose();
    const second = await pretrain(dirB, train, val, OPTIONS, quiet);
    assert.ok(second.finished);
    assert.equal(second.state.step, 6);
    assert.equal(second.state.tokensSeen, a.state.tokensSeen);
    const wa = snapshot(a.model.variables());
    const wb = snapshot(second.model.variables());
    wa.forEach((w, i) => assert.ok(bitwiseEqual(w, wb[i]!), `weight ${a.model.names()[i]} differs after resume`));
    assert.deepEqual(
      second.state.history.map((h) => h.valLoss),
      a.state.history.map((h) => h.valLoss),
    );
    a.model.dispose();
    second.model.dispose();
  });

  it("with activation checkpointing: the same weights, and it may resume a run started without", async () => {
    const dirA = fs.mkdtempSync(path.join(os.tmpdir(), "kit-pt-ck-a-"));
    const dirB = fs.mkdtempSync(path.join(os.tmpdir(), "kit-pt-ck-b-"));
    const a = await pretrain(dirA, train, val, OPTIONS, quiet);
    let calls = 0;
    const first = await pretrain(dirB, train, val, OPTIONS, { ...quiet, shouldStop: () => ++calls > 3 });
    first.model.dispose();
    const b = await pretrain(dirB, train, val, { ...OPTIONS, checkpoint: true }, quiet);
    assert.ok(b.finished);
    assert.equal(b.model.activationCheckpointing, true);
    const wa = snapshot(a.model.variables());
    const wb = snapshot(b.model.variables());
    wa.forEach((w, i) => assert.ok(bitwiseEqual(w, wb[i]!), `weight ${a.model.names()[i]} differs with checkpointing`));
    a.model.dispose();
    b.model.dispose();
  });

  it("refuses to resume a run directory with different settings", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kit-pt-c-"));
    let calls = 0;
    const r = await pretrain(dir, train, val, OPTIONS, { ...quiet, shouldStop: () => ++calls > 2 });
    r.model.dispose();
    await assert.rejects(pretrain(dir, train, val, { ...OPTIONS, lr: 5e-3 }, quiet), /different settings/);
  });

  it("lowers the validation loss on a learnable stream", async () => {
    const pattern = new Int32Array(600).map((_, i) => [5, 9, 13, 17, 21][i % 5]!);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kit-pt-d-"));
    const r = await pretrain(dir, pattern, pattern.slice(0, 200), { ...OPTIONS, steps: 30, evalEvery: 10 }, quiet);
    const h = r.state.history;
    // Uniform guessing over 40 tokens costs ln 40 = 3.69 nats; a 5-cycle is learnable well below half of that.
    assert.ok(h[h.length - 1]!.valLoss < 0.5 * Math.log(40), JSON.stringify(h.map((p) => p.valLoss)));
    assert.ok(h[h.length - 1]!.valLoss < h[0]!.valLoss, JSON.stringify(h.map((p) => p.valLoss)));
    r.model.dispose();
  });

  it("draws the same windows for the same (seed, step) and different ones otherwise", () => {
    const a = trainingBatch(train, 1, 5, 2, 8);
    assert.deepEqual(a.ids, trainingBatch(train, 1, 5, 2, 8).ids);
    assert.notDeepEqual(a.ids, trainingBatch(train, 1, 6, 2, 8).ids);
    assert.notDeepEqual(a.ids, trainingBatch(train, 2, 5, 2, 8).ids);
  });

  it("warmup-cosine schedule rises linearly then decays to the floor", () => {
    const s = { kind: "warmup-cosine", lr: 1, warmupSteps: 4, totalSteps: 14, minRatio: 0.1 } as const;
    assert.equal(learningRateAt(s, 0), 0.25);
    assert.equal(learningRateAt(s, 3), 1);
    assert.ok(Math.abs(learningRateAt(s, 9) - 0.55) < 1e-9);
    assert.ok(Math.abs(learningRateAt(s, 14) - 0.1) < 1e-9);
  });
});
