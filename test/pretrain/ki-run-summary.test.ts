import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { resolveConfig } from "../../lib/backbone/config";
import { Transformer } from "../../lib/backbone/transformer";
import { writeSafetensorsFile } from "../../lib/io/safetensors";
import { resolveKiExperimentOptions } from "../../lib/pretrain/ki-experiment-options";
import { planKiExperiment } from "../../lib/pretrain/ki-experiment-plan";
import { readRunSummary, runStatus } from "../../lib/pretrain/ki-run-summary";
import { kiRunRecord } from "../../lib/pretrain/ki-run";
import { kiLoss, resolveKiOptions } from "../../lib/pretrain/knowledge-inheritance";
import { PretrainOptions, pretrain } from "../../lib/pretrain/pretrainer";
import { TINY, fakeIds, setupBackend } from "../helpers";
import { tempDir, removeTempDirs } from "./ki-fixtures";

describe("pretrain/ki-run-summary", () => {
  before(setupBackend);
  after(removeTempDirs);

  const STUDENT = resolveConfig(TINY);
  const TEACHER = resolveConfig({ ...TINY, dModel: 8, nLayers: 1, nHeads: 2, dFF: 16 });
  const train = fakeIds(500, 40, 1);
  const val = fakeIds(200, 40, 2);
  const quiet = { log: () => undefined };

  function trainingOptions(o: { steps: number; evalEvery: number }, seed: number): PretrainOptions {
    return {
      config: STUDENT,
      seed,
      steps: o.steps,
      batch: 2,
      length: 8,
      lr: 1e-2,
      warmupSteps: 1,
      minLrRatio: 0.1,
      weightDecay: 0.01,
      clipNorm: 1,
      evalEvery: o.evalEvery,
      evalTokens: 64,
      ckptSeconds: 3600,
      logEvery: 100,
    };
  }

  function writeCheckpoint(dir: string, valLoss: string): void {
    fs.mkdirSync(dir, { recursive: true });
    writeSafetensorsFile(
      path.join(dir, "model.safetensors"),
      { w: { dtype: "F32", shape: [1], data: Float32Array.of(1) } },
      { val_loss: valLoss },
    );
  }

  it("follows a run from new to partial to done and reads its curve and final loss back", async () => {
    const o = resolveKiExperimentOptions({ steps: 6, evalEvery: 3, seeds: [3], runRoot: tempDir("kit-kiexp-a-") });
    const plan = planKiExperiment(o, "tiny-teacher");
    const { scratch, ki } = plan.seeds[0]!;
    assert.equal(runStatus(scratch, o.steps), "new");
    assert.throws(
      () => readRunSummary(scratch, o, "sha256:x"),
      /state.json: missing: the scratch run of seed 3 has not started/,
    );
    let calls = 0;
    const first = await pretrain(scratch.runDir, train, val, trainingOptions(o, 3), {
      ...quiet,
      shouldStop: () => ++calls > 4,
    });
    first.model.dispose();
    assert.equal(runStatus(scratch, o.steps), "partial");
    assert.throws(
      () => readRunSummary(scratch, o, "sha256:x"),
      /stopped at step 4 of 6; run the same command to resume/,
    );
    const done = await pretrain(scratch.runDir, train, val, trainingOptions(o, 3), quiet);
    assert.equal(runStatus(scratch, o.steps), "partial"); // finished, but no checkpoint folder yet
    assert.throws(
      () => readRunSummary(scratch, o, "sha256:x"),
      /model.safetensors: missing: the scratch run of seed 3 finished but wrote no checkpoint/,
    );
    writeCheckpoint(scratch.checkpointDir, "3.25");
    assert.equal(runStatus(scratch, o.steps), "done");
    const summary = readRunSummary(scratch, o, "sha256:abc");
    assert.deepEqual(
      summary.curve,
      done.state.history.map((h) => ({ step: h.step, valLoss: h.valLoss, seconds: h.seconds })),
    );
    assert.deepEqual(
      summary.curve.map((p) => p.step),
      [3, 6],
    );
    assert.equal(summary.finalValLoss, 3.25);
    assert.equal(summary.finalValPerplexity, Math.exp(3.25));
    assert.equal(summary.fingerprint, "sha256:abc");
    assert.equal(summary.steps, 6);
    assert.equal(summary.tokensSeen, 6 * 2 * 8);
    assert.equal(summary.trainSeconds, done.state.wallSeconds);
    assert.equal(summary.command, scratch.command);
    assert.equal(summary.checkpoint, scratch.checkpointDir);
    done.model.dispose();

    // The scratch folder read as the KI run of the plan (and vice versa) is refused.
    assert.throws(
      () => readRunSummary({ ...ki, runDir: scratch.runDir, checkpointDir: scratch.checkpointDir }, o, "x"),
      /expected a knowledge-inheritance run, found one without a teacher/,
    );
    const teacher = Transformer.create(TEACHER, 5);
    const kiOpts = resolveKiOptions({ alphaStart: 0.5, alphaEndStep: 3 });
    const record = kiRunRecord({ name: "tiny-teacher", fingerprint: "sha256:t" }, kiOpts);
    const r = await pretrain(ki.runDir, train, val, { ...trainingOptions(o, 3), ki: record } as PretrainOptions, {
      ...quiet,
      loss: kiLoss(teacher, kiOpts),
    });
    r.model.dispose();
    teacher.dispose();
    writeCheckpoint(ki.checkpointDir, "3.0");
    assert.equal(readRunSummary(ki, o, "sha256:k").finalValLoss, 3);
    assert.throws(
      () => readRunSummary({ ...scratch, runDir: ki.runDir, checkpointDir: ki.checkpointDir }, o, "x"),
      /expected a from-scratch run, found one with a teacher/,
    );
    // Evaluated on another grid than the one asked for: the folder belongs to other settings.
    assert.throws(
      () => readRunSummary(scratch, { steps: 6, evalEvery: 2 }, "x"),
      /evaluated at steps \[3, 6\], expected \[2, 4, 6\]/,
    );
    writeCheckpoint(scratch.checkpointDir, "n/a");
    assert.throws(() => readRunSummary(scratch, o, "x"), /metadata 'val_loss' must be a number, got "n\/a"/);
  });
});
