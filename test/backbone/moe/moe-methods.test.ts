/**
 * Every shipped tuning method runs on a tiny random mixture-of-experts checkpoint (the backbone frozen except
 * under full fine-tuning, which must change it), activation checkpointing leaves the curve unchanged, and
 * prompt tuning on the same checkpoint with its experts offloaded under a 50% budget follows the all-resident
 * run (same seed: same losses within 1e-4, same accuracy).
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { tf } from "../../../lib/backend/backend";
import { loadCheckpoint } from "../../../lib/backbone/checkpoint";
import { resolveCellOptions } from "../../../lib/experiment/cell-options";
import { makeCell } from "../../../lib/experiment/grid";
import { runCell } from "../../../lib/experiment/run-cell";
import { validateRecord } from "../../../lib/experiment/record";
import { METHODS } from "../../../lib/tuning/methods";
import { bitwiseEqual, setupBackend, snapshot } from "../../helpers";
import { tinyMoeCheckpoint } from "./fixture";

const OPTIONS = { steps: 2, batchSize: 4, evalEvery: 2, maxDev: 4, maxTest: 6, promptLength: 3, warmupSteps: 1 };

describe("every method on a mixture-of-experts backbone", function () {
  this.timeout(180_000);
  let dir: string;
  before(async () => {
    await setupBackend();
    dir = tinyMoeCheckpoint(7, 1);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it(`${Object.keys(METHODS).join(", ")} each produce a valid record; only full fine-tuning moves the backbone`, async () => {
    const b = loadCheckpoint(dir);
    try {
      for (const method of Object.keys(METHODS)) {
        const before = snapshot(b.model.variables());
        const rec = await runCell(makeCell({ backbone: dir, task: "yelp", method, seed: 0, options: OPTIONS }), {}, b);
        validateRecord(rec, `moe/${method} record`);
        assert.ok(Number.isFinite(rec.metrics.accuracy), `moe/${method}: accuracy ${rec.metrics.accuracy}`);
        const after = snapshot(b.model.variables());
        const changed = before.filter((w, i) => !bitwiseEqual(w, after[i]!)).length;
        if (method === "full-finetune") {
          assert.ok(changed > 0, "full fine-tuning changed no weight");
          b.model.variables().forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(before[i]!, v.shape))));
        } else {
          assert.equal(changed, 0, `moe/${method} changed ${changed} backbone weight(s)`);
        }
      }
      const cell = (checkpoint: boolean) =>
        makeCell({
          backbone: dir,
          task: "yelp",
          method: "deep-prompt-tuning",
          seed: 0,
          options: { ...OPTIONS, checkpoint },
        });
      const ckpt = await runCell(cell(true), {}, b);
      const plain = await runCell(cell(false), {}, b);
      assert.deepEqual(
        ckpt.curve.map((p) => p.trainLoss.toFixed(4)),
        plain.curve.map((p) => p.trainLoss.toFixed(4)),
        "activation checkpointing changed the training curve",
      );
    } finally {
      b.model.dispose();
    }
  });

  it("prompt tuning under a 50% expert budget (cell option expertMemory) follows the all-resident run", async () => {
    const cell = (options: object) =>
      makeCell({ backbone: dir, task: "yelp", method: "prompt-tuning", seed: 0, options: { ...OPTIONS, ...options } });
    const want = await runCell(cell({}));
    const got = await runCell(cell({ expertMemory: "50%" }));
    validateRecord(got, "offloaded prompt-tuning record");
    assert.equal(got.backbone.fingerprint, want.backbone.fingerprint);
    assert.equal(got.metrics.accuracy, want.metrics.accuracy);
    got.curve.forEach((p, i) =>
      assert.ok(Math.abs(p.trainLoss - want.curve[i]!.trainLoss) < 1e-4, `step ${p.step}: loss differs`),
    );
    assert.throws(() => resolveCellOptions({ expertMemory: "half" }, "cell x"), /cell x: option expertMemory must be/);
  });
});
