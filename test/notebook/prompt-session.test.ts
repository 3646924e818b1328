import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { makeCell } from "../../lib/experiment/grid";
import { runCell } from "../../lib/experiment/run-cell";
import { evaluatePrompt, tunePrompt } from "../../lib/notebook/prompt-session";
import { PromptLibrary } from "../../lib/prompt/library";
import { tf } from "../../lib/backend/backend";
import { setupBackend } from "../helpers";
import { loadTiny, tinyCheckpointDir } from "../tuning/fixture";
import { tempDir } from "./fixtures";

const OPTIONS = { steps: 3, batchSize: 4, evalEvery: 3, maxDev: 8, maxTest: 12, promptLength: 3, warmupSteps: 1 };

describe("notebook tunePrompt", function () {
  this.timeout(60000);
  before(setupBackend);

  it("trains like runCell (same test metrics and curve) but hands back the prompt", async () => {
    const b = loadTiny();
    const steps: number[] = [];
    const run = await tunePrompt(b, "yelp", { ...OPTIONS, seed: 1 }, { onStep: (s) => steps.push(s) });
    assert.deepEqual(steps, [1, 2, 3]);
    assert.deepEqual(run.settings, { length: 3, init: "sampled-vocab", position: "front" });
    assert.equal(run.trainableParams, 3 * 16);
    const viaCell = await runCell(makeCell({ backbone: tinyCheckpointDir(), task: "yelp", method: "prompt-tuning", seed: 1, options: OPTIONS }));
    assert.deepEqual(run.metrics, viaCell.metrics);
    assert.deepEqual(run.curve, viaCell.curve);
    assert.deepEqual(evaluatePrompt(b, run.task, run.prompts, { max: 12 }), run.metrics, "evaluatePrompt agrees");
    run.prompts.dispose();
    b.model.dispose();
  });

  it("a prompt saved in a library and loaded back scores the same; another backbone is refused", async () => {
    const b = loadTiny();
    const run = await tunePrompt(b, "yelp", { ...OPTIONS, seed: 0 });
    const lib = new PromptLibrary(path.join(tempDir("kit-nb-lib-"), "prompts"));
    const entry = lib.add(run.prompts, {
      task: "yelp",
      labels: run.task.labels,
      settings: run.settings,
      backbone: { name: "tiny", fingerprint: b.fingerprint },
      metrics: { accuracy: run.metrics.accuracy },
    });
    const loaded = lib.load(entry.id, { name: "tiny", fingerprint: b.fingerprint, width: b.config.dModel });
    assert.deepEqual(evaluatePrompt(b, run.task, loaded.prompts, { max: 12 }), run.metrics);
    assert.throws(() => lib.load(entry.id, { name: "other", fingerprint: "sha256:other", width: b.config.dModel }), /soft prompts do not transfer between backbones/);
    loaded.prompts.dispose();
    run.prompts.dispose();
    fs.rmSync(path.dirname(lib.dir), { recursive: true, force: true });
    b.model.dispose();
  });

  it("leaks no more tensors than runCell itself, and rejects bad input clearly", async () => {
    const b = loadTiny();
    const count = () => tf.memory().numTensors;
    const leakOf = async (fn: () => Promise<void>) => {
      await fn(); // warm-up: first-use caches are not leaks
      const before = count();
      await fn();
      return count() - before;
    };
    const opts = { ...OPTIONS, steps: 1 };
    const ours = await leakOf(async () => (await tunePrompt(b, "yelp", opts)).prompts.dispose());
    const theirs = await leakOf(async () => void (await runCell(makeCell({ backbone: "x/unused", task: "yelp", method: "prompt-tuning", seed: 0, options: opts }), {}, b)));
    assert.ok(ours <= theirs, `tunePrompt leaked ${ours} tensors per run, runCell ${theirs}`);
    await assert.rejects(tunePrompt(b, "nope", OPTIONS), /unknown task 'nope'/);
    await assert.rejects(tunePrompt(b, "yelp", { ...OPTIONS, promptPosition: "middle" }), /position 'middle' needs slot\(s\) middle, but task 'yelp' offers only front, back/);
    await assert.rejects(tunePrompt(b, "yelp", { ...OPTIONS, steps: 0 }), /tunePrompt: option steps must be a positive integer, got 0/);
    await assert.rejects(tunePrompt(b, "yelp", { ...OPTIONS, seed: 1.5 }), /seed must be an integer, got 1.5/);
    b.model.dispose();
  });
});
