import assert from "node:assert/strict";
import { budgetGains, chooseLearningRates, recommendBudgets, runsOfChoice } from "../../lib/experiment/budget-study";
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

  it("reports each budget's gain over the next shorter one, paired by task and seed at the chosen learning rates", () => {
    // Reversed order: pairing must follow (task, seed), not position. Dev and test move oppositely by construction.
    const gains = budgetGains([...records()].reverse());
    const close = (a: number, b: number) => Math.abs(a - b) < 1e-12;
    const row = (method: string, to: number) => gains.find((g) => g.method === method && g.to === to)!;
    assert.deepEqual(
      gains.map((g) => `${g.method} ${g.from}->${g.to} n=${g.dev.n}/${g.test.n}`),
      ["finetune 200->1000 n=6/6", "finetune 1000->3000 n=6/6", "prompt 200->1000 n=6/6", "prompt 1000->3000 n=6/6"],
    );
    assert.ok(close(row("prompt", 1000).dev.mean, 0.05) && close(row("prompt", 1000).test.mean, -0.05));
    assert.ok(close(row("prompt", 1000).dev.std, 0), "the seed term cancels in every pair");
    assert.ok(close(row("prompt", 3000).dev.mean, 0.002) && close(row("prompt", 3000).test.mean, -0.002));
    assert.ok(close(row("finetune", 1000).dev.mean, -0.01) && close(row("finetune", 1000).test.mean, 0.01));
    assert.ok(close(row("finetune", 3000).dev.mean, 0));
    // A run missing at one budget drops only its pair.
    const partial = records().filter(
      (r) => !(r.method === "prompt" && r.config["steps"] === 3000 && r.seed === 1 && r.task === "spam"),
    );
    assert.equal(budgetGains(partial).find((g) => g.method === "prompt" && g.to === 3000)!.dev.n, 5);
  });

  it("refuses to choose while a learning rate is missing runs", () => {
    const partial = records().filter((r) => !(r.method === "prompt" && r.config["lr"] === 0.03 && r.seed === 2));
    assert.throws(
      () => chooseLearningRates(partial),
      /prompt at 200 steps on tiny has unequal runs per learning rate \(lr 0.3: 6, lr 0.03: 4\); finish the grid before choosing/,
    );
  });
});
