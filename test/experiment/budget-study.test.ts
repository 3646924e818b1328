import assert from "node:assert/strict";
import { chooseLearningRates, recommendBudgets, runsOfChoice } from "../../lib/experiment/budget-study";
import { expandGrid, type Cell } from "../../lib/experiment/grid";
import type { RunRecord } from "../../lib/experiment/record";
import { fakeRecord } from "../fixtures/experiment/fake-record";

/** Dev and test accuracies set per cell: dev rewards lr 0.3 at 1000 steps; test says the opposite (it must not matter). */
function records(): RunRecord[] {
  const cells = expandGrid({
    name: "budget",
    backbones: ["tiny"],
    tasks: ["sst2", "spam"],
    methods: ["prompt", "finetune", "zero"],
    seeds: [0, 1, 2],
    options: { steps: [200, 1000, 3000] },
    methodOptions: { prompt: { lr: [0.03, 0.3] } },
  });
  return cells.map((c: Cell) => {
    const steps = c.options.steps as number;
    const lr = c.options.lr as number | undefined;
    const dev =
      c.method === "prompt"
        ? 0.6 + (lr === 0.3 ? 0.1 : 0) + (steps === 1000 ? 0.05 : steps === 3000 ? 0.052 : 0) + 0.001 * c.seed
        : 0.8 + (steps === 200 ? 0.01 : 0);
    const test = 1 - dev;
    return fakeRecord(c, {
      metrics: { accuracy: test, macroF1: test, mcc: 0 },
      devMetrics: c.method === "zero" ? null : { accuracy: dev, macroF1: dev, mcc: 0 },
    });
  });
}

describe("budget study", () => {
  it("chooses each budget's learning rate on dev over every task and seed, never on test", () => {
    const choices = chooseLearningRates(records());
    assert.deepEqual(
      choices.map((c) => `${c.method}@${c.steps}:${c.lr}`),
      [
        "finetune@200:default",
        "finetune@1000:default",
        "finetune@3000:default",
        "prompt@200:0.3",
        "prompt@1000:0.3",
        "prompt@3000:0.3",
      ],
    );
    const p = choices.find((c) => c.method === "prompt" && c.steps === 1000)!;
    assert.ok(Math.abs(p.devMean - (0.75 + 0.001)) < 1e-12);
    assert.deepEqual(
      p.candidates.map((c) => [c.lr, c.runs]),
      [
        [0.3, 6],
        [0.03, 6],
      ],
    );
    assert.equal(runsOfChoice(records(), p).length, 6);
    assert.ok(runsOfChoice(records(), p).every((r) => r.config["lr"] === 0.3 && r.config["steps"] === 1000));
  });

  it("recommends the dev-best budget, the smaller one when within the tolerance", () => {
    const rec = recommendBudgets(chooseLearningRates(records()));
    assert.deepEqual(
      rec.map((c) => `${c.method}@${c.steps}:${c.lr}`),
      ["finetune@200:default", "prompt@1000:0.3"], // 3000 is only 0.002 better on dev
    );
    const strict = recommendBudgets(chooseLearningRates(records()), { tolerance: 0 });
    assert.equal(strict.find((c) => c.method === "prompt")!.steps, 3000);
  });

  it("refuses to choose while a learning rate is missing runs", () => {
    const partial = records().filter((r) => !(r.method === "prompt" && r.config["lr"] === 0.03 && r.seed === 2));
    assert.throws(
      () => chooseLearningRates(partial),
      /prompt at 200 steps on tiny has unequal runs per learning rate \(lr 0.3: 6, lr 0.03: 4\); finish the grid before choosing/,
    );
  });
});
