import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { lmLoss } from "../../lib/backbone/lm-loss";
import { Transformer } from "../../lib/backbone/transformer";
import { TokenBatch, trainingBatch } from "../../lib/pretrain/batches";
import { AdamW, AdamWOptions } from "../../lib/train/adamw";
import { DataParallelTrainer, DataParallelWorkerError, GPT2_DECAY_PATTERN, resolveDataParallelOptions } from "../../lib/train/data-parallel";
import { LM_SHARD_LOSS, shardSizes } from "../../lib/train/dp-losses";
import { TINY, fakeIds, setupBackend } from "../helpers";

const SEED = 5;
const ADAMW: Partial<AdamWOptions> = { weightDecay: 0.01, clipNorm: 1, beta2: 0.99 };
const LR = 1e-2;

/** Three global batches: an even split, an odd split (2 + 1 rows), and padded rows of unequal token counts. */
function batches(): TokenBatch[] {
  const stream = fakeIds(400, TINY.vocabSize!, 7);
  const padded = trainingBatch(stream, SEED, 2, 4, 8);
  const mask = new Uint8Array(32).fill(1);
  mask.fill(0, 2, 8); // row 0: 2 real tokens (shard 1 gets 1 + 7 predicted positions)
  mask.fill(0, 29, 32); // row 3: 5 real tokens (shard 2 gets 7 + 4)
  return [trainingBatch(stream, SEED, 0, 4, 8), trainingBatch(stream, SEED, 1, 3, 8), { ...padded, mask }];
}

function decay(model: Transformer): (varName: string) => boolean {
  const re = new RegExp(GPT2_DECAY_PATTERN);
  const byVar = new Map(model.names().map((n) => [model.param(n).name, n]));
  return (v) => re.test(byVar.get(v)!);
}

/** Writes a plain-JS loss module (loaded by path in every thread) into a temp dir; `body` sees dp-losses as `losses`. */
function lossModule(name: string, body: string): string {
  const lossesPath = require.resolve("../../lib/train/dp-losses");
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "kit-dp-")), name);
  fs.writeFileSync(file, `const losses = require(${JSON.stringify(lossesPath)});\n${body}\n`);
  return file;
}

describe("train/data-parallel", function () {
  this.timeout(60000);
  before(setupBackend);

  it("splits rows into near-equal contiguous shards and weights them by predicted tokens", () => {
    assert.deepEqual(shardSizes(5, 2), [3, 2]);
    assert.deepEqual(shardSizes(1, 2), [1]);
    const [b0, , b2] = batches();
    const shards = LM_SHARD_LOSS.split(b2!, 2);
    assert.deepEqual(shards.map((s) => s.batch), [2, 2]);
    assert.deepEqual(Array.from(shards[1]!.ids), Array.from(b2!.ids.subarray(16)));
    assert.deepEqual(shards.map((s) => LM_SHARD_LOSS.weight(s)), [1 + 7, 7 + 4]);
    assert.equal(LM_SHARD_LOSS.weight(b0!), 4 * 7);
    assert.throws(() => LM_SHARD_LOSS.split({ ...b0!, batch: 3 }, 2), /batch.ids has 32 entries, expected batch\*length = 24/);
    assert.throws(() => resolveDataParallelOptions({ config: TINY, seed: 0, workers: 0 }), /workers must be an integer >= 1, got 0/);
  });

  it("2 workers train like one thread on the same global batches (weights, losses, optimizer state)", async () => {
    const data = batches();
    const model = Transformer.create(TINY, SEED);
    const opt = new AdamW(model.variables(), ADAMW, decay(model));
    const ref = data.map((b) => opt.step(() => lmLoss(model, b.ids, b.mask, b.batch, b.length, true), LR));
    const refState = opt.state();

    const dp = await DataParallelTrainer.start<TokenBatch>({ config: TINY, seed: SEED, workers: 2, adamw: ADAMW, decayPattern: GPT2_DECAY_PATTERN, checkEvery: 1 });
    try {
      assert.match(dp.backend, /\S+ \d/);
      const got = [];
      for (const b of data) got.push(await dp.step(b, LR));
      assert.deepEqual(got.map((r) => r.shards), [2, 2, 2]);
      assert.deepEqual(got.map((r) => r.weight), [28, 21, 19]);
      got.forEach((r, i) => {
        assert.ok(Math.abs(r.loss - ref[i]!.loss) < 1e-5, `step ${i}: loss ${r.loss} vs single-threaded ${ref[i]!.loss}`);
        assert.ok(Math.abs(r.gradNorm - ref[i]!.gradNorm) < 1e-4 * ref[i]!.gradNorm, `step ${i}: grad norm ${r.gradNorm} vs ${ref[i]!.gradNorm}`);
      });
      assert.ok(ref.some((r) => r.gradNorm > ADAMW.clipNorm!), "fixture should exercise clipping");
      const weights = await dp.weights();
      let maxDiff = 0;
      let maxMove = 0;
      const init = Transformer.create(TINY, SEED);
      for (const name of model.names()) {
        const a = model.param(name).dataSync();
        const b = weights.get(name)!;
        const a0 = init.param(name).dataSync();
        for (let i = 0; i < a.length; i++) {
          maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
          maxMove = Math.max(maxMove, Math.abs(a[i]! - a0[i]!));
        }
      }
      init.dispose();
      assert.ok(maxDiff < 1e-4, `max |w_dp - w_single| = ${maxDiff}`);
      assert.ok(maxMove > 1e-3, `training should move the weights (moved ${maxMove})`);
      const state = await dp.optimizerState();
      assert.equal(state.step, 3);
      assert.equal(dp.steps, 3);
      const mDiff = Math.max(...state.m.map((m, i) => Math.max(...Array.from(m, (x, j) => Math.abs(x - refState.m[i]![j]!)))));
      assert.ok(mDiff < 1e-5, `first moments differ by ${mDiff}`);
      await dp.verifyReplicas();
    } finally {
      await dp.terminate();
      opt.dispose();
      model.dispose();
    }
  });

  it("reports a worker's error with its message, stays usable when no update was applied, refuses overlapping steps", async () => {
    const dp = await DataParallelTrainer.start<TokenBatch>({ config: TINY, seed: SEED, workers: 2 });
    try {
      const [b0] = batches();
      const bad = { ...b0!, ids: b0!.ids.slice() };
      bad.ids[20] = 99; // row 2 -> shard of worker 2
      await assert.rejects(
        dp.step(bad, LR),
        (e: unknown) => e instanceof DataParallelWorkerError && e.worker === 1 && /^data-parallel worker 2\/2: embeddingLookup: id 99 at position 4 is outside/.test(e.message),
      );
      const first = dp.step(b0!, LR);
      await assert.rejects(dp.step(b0!, LR), /previous step has not finished/);
      assert.equal((await first).step, 1);
      await dp.verifyReplicas();
    } finally {
      await dp.terminate();
    }
    await assert.rejects(dp.weights(), /terminated/);
  });

  it("loads extra loss kinds in every thread; a failing or exiting worker rejects the step, never hangs", async () => {
    const exits = lossModule(
      "exits.js",
      `losses.registerShardLoss({ ...losses.LM_SHARD_LOSS, name: "exits", loss() { process.exit(3); } });`,
    );
    const [b0] = batches();
    const dp = await DataParallelTrainer.start<TokenBatch>({ config: TINY, seed: SEED, workers: 2, loss: "exits", lossModules: [exits] });
    try {
      await assert.rejects(dp.step(b0!, LR), /data-parallel worker [12]\/2 exited unexpectedly \(code 3\)/);
      await assert.rejects(dp.step(b0!, LR), /unusable after an earlier error: data-parallel worker [12]\/2 exited/);
    } finally {
      await dp.terminate();
    }
    await assert.rejects(
      DataParallelTrainer.start({ config: TINY, seed: SEED, workers: 2, loss: "no-such-loss", lossModules: [exits] }),
      /unknown loss kind 'no-such-loss' \(registered: lm, exits\)/,
    );
    const workerOnly = lossModule("worker-only.js", `if (!require("node:worker_threads").isMainThread) throw new Error("this module refuses worker threads");`);
    await assert.rejects(
      DataParallelTrainer.start({ config: TINY, seed: SEED, workers: 2, lossModules: [workerOnly] }),
      (e: unknown) => e instanceof DataParallelWorkerError && /^data-parallel worker [12]\/2: this module refuses worker threads$/.test(e.message),
    );
  });
});
