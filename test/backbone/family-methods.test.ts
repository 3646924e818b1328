/**
 * Every shipped method runs on every rotary family (tiny random checkpoints saved and loaded in Hugging Face layout);
 * GPT-2 is covered by test/tuning/methods.test.ts.
 */
import { strict as assert } from "node:assert";
import { tf } from "../../lib/backend/backend";
import { loadCheckpoint } from "../../lib/backbone/checkpoint";
import { makeCell } from "../../lib/experiment/grid";
import { runCell } from "../../lib/experiment/run-cell";
import { validateRecord } from "../../lib/experiment/record";
import { METHODS } from "../../lib/tuning/methods";
import { bitwiseEqual, setupBackend, snapshot } from "../helpers";
import { TINY_FAMILIES, tinyFamilyDir } from "./family-fixtures";

const OPTIONS = { steps: 2, batchSize: 4, evalEvery: 2, maxDev: 4, maxTest: 6, promptLength: 3, warmupSteps: 1 };

describe("every method on every family", function () {
  this.timeout(120_000);
  before(setupBackend);

  for (const family of Object.keys(TINY_FAMILIES).filter((f) => f !== "gpt2")) {
    it(`${family}: ${Object.keys(METHODS).join(", ")} and two-stage prompt tuning each produce a valid record`, async () => {
      const dir = tinyFamilyDir(family);
      const b = loadCheckpoint(dir);
      try {
        for (const method of Object.keys(METHODS)) {
          const before = snapshot(b.model.variables());
          const rec = await runCell(
            makeCell({ backbone: dir, task: "yelp", method, seed: 0, options: OPTIONS }),
            {},
            b,
          );
          validateRecord(rec, `${family}/${method} record`);
          assert.ok(Number.isFinite(rec.metrics.accuracy), `${family}/${method}: accuracy ${rec.metrics.accuracy}`);
          const after = snapshot(b.model.variables());
          const changed = before.filter((w, i) => !bitwiseEqual(w, after[i]!)).length;
          if (method === "full-finetune") {
            assert.ok(changed > 0, `${family}: full fine-tuning changed no weight`);
            b.model.variables().forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(before[i]!, v.shape))));
          } else {
            assert.equal(changed, 0, `${family}/${method} changed ${changed} backbone weight(s)`);
          }
        }
        const two = await runCell(
          makeCell({
            backbone: dir,
            task: "yelp",
            method: "prompt-tuning",
            seed: 0,
            options: { ...OPTIONS, stage1Task: "amazon", stage1Steps: 2 },
          }),
          {},
          b,
        );
        validateRecord(two, `${family} two-stage record`);
        const ckpt = await runCell(
          makeCell({
            backbone: dir,
            task: "yelp",
            method: "deep-prompt-tuning",
            seed: 0,
            options: { ...OPTIONS, checkpoint: true },
          }),
          {},
          b,
        );
        const plain = await runCell(
          makeCell({ backbone: dir, task: "yelp", method: "deep-prompt-tuning", seed: 0, options: OPTIONS }),
          {},
          b,
        );
        assert.deepEqual(
          ckpt.curve.map((p) => p.trainLoss.toFixed(4)),
          plain.curve.map((p) => p.trainLoss.toFixed(4)),
          `${family}: activation checkpointing changed the training curve`,
        );
      } finally {
        b.model.dispose();
      }
    });
  }
});
