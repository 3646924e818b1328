import { strict as assert } from "node:assert";
import type { BudgetChoice } from "../../lib/experiment/budget-study";
import { BUDGET_STUDY_METHODS, budgetCells, budgetStudyPlan } from "../../lib/notebook/budget-study";

describe("notebook/budget-study: stage 2 cells", () => {
  const plan = budgetStudyPlan(false, "kit-small");
  const choice = (method: string, lr: number | "default"): BudgetChoice => ({
    backbone: "kit-small",
    method,
    steps: 1000,
    lr,
    devMean: 0.7,
    candidates: [],
  });
  const choices = [choice("prompt-tuning", 0.3), choice("prefix-tuning", 0.01), choice("full-finetune", "default")];

  it("runs every method x task x budget x seed at its chosen rate, shortest budget first, baselines last", () => {
    const cells = budgetCells(plan, choices);
    const trained = cells.filter((c) => BUDGET_STUDY_METHODS.includes(c.method));
    assert.equal(
      trained.length,
      BUDGET_STUDY_METHODS.length * plan.tasks.length * plan.budgets.length * plan.seeds.length,
    );
    const steps = trained.map((c) => c.config["steps"] as number);
    assert.deepEqual(
      steps,
      [...steps].sort((a, b) => a - b),
      "budgets ascending",
    );
    assert.equal(new Set(cells.map((c) => c.cellId)).size, cells.length, "no cell twice");
    assert.ok(trained.filter((c) => c.method === "prompt-tuning").every((c) => c.config["lr"] === 0.3));
    assert.ok(
      trained.filter((c) => c.method === "full-finetune").every((c) => !("lr" in c.config)),
      "default lr",
    );
    const firstBaseline = cells.findIndex((c) => !BUDGET_STUDY_METHODS.includes(c.method));
    assert.equal(firstBaseline, trained.length, "baselines after every trained cell");
    assert.deepEqual(
      [...new Set(cells.slice(firstBaseline).map((c) => c.method))],
      ["zero-shot", "calibrated-zero-shot", "head-only"],
    );
  });

  it("refuses a plan without a stage-1 choice for a method, naming it", () => {
    assert.throws(() => budgetCells(plan, choices.slice(0, 2)), /stage 1 chose no learning rate for full-finetune/);
  });
});
