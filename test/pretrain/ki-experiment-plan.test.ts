import assert from "node:assert/strict";
import * as path from "node:path";
import { resolveKiExperimentOptions } from "../../lib/pretrain/ki-experiment-options";
import { planKiExperiment, shellQuote } from "../../lib/pretrain/ki-experiment-plan";
import { evaluationSteps } from "../../lib/pretrain/ki-run-summary";
import { setupBackend } from "../helpers";
import { flag, removeTempDirs } from "./ki-fixtures";

describe("pretrain/ki-experiment-plan", () => {
  before(setupBackend);
  after(removeTempDirs);

  const o = resolveKiExperimentOptions({ steps: 1500, seeds: [0, 4], runRoot: "runs/x", kiAlpha: 0.7, kiTopK: 64 });
  const plan = planKiExperiment(o, "kit-nano");

  it("gives both arms of a seed identical training settings; only the KI run has a teacher", () => {
    assert.equal(plan.seeds.length, 2);
    for (const s of plan.seeds) {
      for (const name of [
        "size",
        "steps",
        "batch",
        "length",
        "lr",
        "seed",
        "warmup",
        "weight-decay",
        "eval-every",
        "eval-tokens",
      ]) {
        assert.equal(
          flag(s.scratch.args, name),
          flag(s.ki.args, name),
          `--${name} differs between the scratch and KI runs of seed ${s.seed}`,
        );
      }
      assert.equal(flag(s.ki.args, "seed"), String(s.seed));
      assert.equal(flag(s.scratch.args, "teacher"), undefined);
      assert.equal(flag(s.ki.args, "teacher"), "models/kit-nano");
      assert.equal(flag(s.ki.args, "ki-alpha"), "0.7");
      assert.equal(flag(s.ki.args, "ki-end-step"), "750");
      assert.equal(flag(s.ki.args, "ki-top-k"), "64");
      assert.equal(flag(s.ki.args, "run-dir"), s.ki.runDir);
      assert.equal(flag(s.ki.args, "out"), s.ki.checkpointDir);
      assert.notEqual(s.scratch.runDir, s.ki.runDir);
    }
    assert.notEqual(plan.seeds[0]!.scratch.runDir, plan.seeds[1]!.scratch.runDir);
    assert.equal(flag(planKiExperiment(resolveKiExperimentOptions({}), "t").seeds[0]!.ki.args, "ki-top-k"), "0"); // 0 = full vocabulary
  });

  it("names folders from every setting: other KI settings share the scratch run, other training settings do not", () => {
    assert.equal(
      plan.experimentDir,
      path.join("runs/x", "kit-small-1500steps-b8x128-lr0.002-wu100-wd0.01-eval100x32768"),
    );
    assert.equal(plan.seeds[1]!.ki.runDir, path.join(plan.experimentDir, "seed4", "ki-kit-nano-a0.7-end750-T1-top64"));
    assert.equal(plan.seeds[1]!.ki.checkpointDir, path.join(plan.seeds[1]!.ki.runDir, "model"));
    const otherKi = planKiExperiment({ ...o, kiAlpha: 0.3 }, "kit-nano");
    assert.equal(otherKi.seeds[0]!.scratch.runDir, plan.seeds[0]!.scratch.runDir);
    assert.notEqual(otherKi.seeds[0]!.ki.runDir, plan.seeds[0]!.ki.runDir);
    const otherLr = planKiExperiment(
      resolveKiExperimentOptions({ ...o, lr: 1e-3, kiEndStep: o.kiEndStep }),
      "kit-nano",
    );
    assert.notEqual(otherLr.seeds[0]!.scratch.runDir, plan.seeds[0]!.scratch.runDir);
    assert.equal(
      planKiExperiment(o, "my teacher/v2").seeds[0]!.ki.runDir.split(path.sep).pop(),
      "ki-my_teacher_v2-a0.7-end750-T1-top64",
    );
  });

  it("records runnable commands, quoting what the shell would split", () => {
    assert.ok(
      plan.seeds[0]!.scratch.command.startsWith(
        `node ${path.join("build", "scripts", "pretrain.js")} --size kit-small --steps 1500 `,
      ),
    );
    assert.equal(shellQuote("runs/a-b_c.d"), "runs/a-b_c.d");
    assert.equal(shellQuote("my dir"), "'my dir'");
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
    const spaced = planKiExperiment(resolveKiExperimentOptions({ runRoot: "/tmp/my runs" }), "kit-nano");
    assert.ok(spaced.seeds[0]!.scratch.command.includes("--run-dir '/tmp/my runs/"));
  });

  it("lists the evaluation steps of a run", () => {
    assert.deepEqual(evaluationSteps(1500, 500), [500, 1000, 1500]);
    assert.deepEqual(evaluationSteps(20, 7), [7, 14, 20]);
    assert.deepEqual(evaluationSteps(5, 100), [5]);
  });
});
