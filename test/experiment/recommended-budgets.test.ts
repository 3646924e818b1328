import { strict as assert } from "node:assert";
import { expandGrid } from "../../lib/experiment/grid";
import {
  RECOMMENDED_BUDGETS,
  RECOMMENDED_FIXED,
  RECOMMENDED_PROMPT_METHOD,
  recommendedMethodOptions,
} from "../../lib/experiment/recommended-budgets";
import { resolveCellOptions } from "../../lib/experiment/cell-options";
import { budgetStudyPlan, BUDGET_STUDY_METHODS, stageOneChoices } from "../../lib/notebook/budget-study";
import { chooseLearningRates, recommendBudgets } from "../../lib/experiment/budget-study";
import { readRecords } from "../../lib/experiment/record";
import { CELL_DEFAULTS } from "../../lib/experiment/cell-options";
import { getMethod } from "../../lib/tuning/methods";
import { projectRoot } from "../../lib/experiment/project-paths";
import * as path from "node:path";

describe("experiment/recommended-budgets", () => {
  it("gives the studied methods their steps and learning rate, and leaves the other methods alone", () => {
    const methods = ["zero-shot", "head-only", "prompt-tuning", "prefix-tuning", "full-finetune"];
    assert.deepEqual(recommendedMethodOptions(methods), {
      "prompt-tuning": { steps: [3000], lr: [0.3] },
      "prefix-tuning": { steps: [3000], lr: [0.01] },
      "full-finetune": { steps: [3000], lr: [3e-4] },
    });
    assert.deepEqual(recommendedMethodOptions(methods, { fixedSteps: true }), {
      "prompt-tuning": { lr: [0.3] },
      "prefix-tuning": { lr: [0.01] },
      "full-finetune": { lr: [3e-4] },
    });
    assert.equal(recommendedMethodOptions(["zero-shot", "head-only"]), undefined);
  });

  it("expands to cells whose resolved options are the study's (and valid cell options)", () => {
    const methods = ["prompt-tuning", "full-finetune", "head-only"];
    const cells = expandGrid({
      name: "r",
      backbones: ["kit-small"],
      tasks: ["yelp"],
      methods,
      seeds: [0],
      methodOptions: recommendedMethodOptions(methods),
      fixed: { ...RECOMMENDED_FIXED },
    });
    const byMethod = new Map(cells.map((c) => [c.method, resolveCellOptions(c.options, c.method)]));
    assert.equal(byMethod.get("prompt-tuning")!.steps, 3000);
    assert.equal(byMethod.get("prompt-tuning")!.lr, 0.3);
    assert.equal(byMethod.get("prompt-tuning")!.patience, 10);
    assert.equal(byMethod.get("full-finetune")!.steps, 3000);
    assert.equal(byMethod.get("full-finetune")!.lr, 3e-4);
    assert.equal(byMethod.get("head-only")!.steps, 200);
    assert.equal(byMethod.get("head-only")!.lr, null);
  });

  it("are among the candidates and budgets notebook 10's study tries, with its fixed options", () => {
    const plan = budgetStudyPlan(false, "kit-small");
    for (const [method, b] of Object.entries(RECOMMENDED_BUDGETS)) {
      assert.ok(plan.learningRates[method]!.includes(b.lr), `${method} lr ${b.lr}`);
      assert.ok(plan.budgets.includes(b.steps), `${method} steps ${b.steps}`);
    }
    assert.deepEqual({ ...plan.fixed }, { ...RECOMMENDED_FIXED });
  });

  it("are what notebook 10's shipped records choose on dev (stage 1 learning rates, stage 2 budgets)", () => {
    // The evidence is in git: results/notebooks/10-budget-study*.jsonl. A method without an entry must be one whose
    // study recommends its defaults.
    const shipped = (name: string) => readRecords(path.join(projectRoot(), "results", "notebooks", name));
    const lrChoices = stageOneChoices(shipped("10-budget-study-lr-results.jsonl"));
    const stage2 = shipped("10-budget-study-results.jsonl").filter((r) => BUDGET_STUDY_METHODS.includes(r.method));
    const recommended = recommendBudgets(chooseLearningRates(stage2));
    assert.deepEqual(recommended.map((c) => c.method).sort(), [...BUDGET_STUDY_METHODS].sort());
    const plan = budgetStudyPlan(false, "kit-small");
    for (const c of recommended) {
      // Stage 2 is complete: every task x seed of the chosen budget has a record.
      const runs = stage2.filter((r) => r.method === c.method && Number(r.config["steps"]) === c.steps);
      assert.equal(runs.length, plan.tasks.length * plan.seeds.length, `${c.method} ${c.steps} steps: runs`);
      const lr = lrChoices.find((x) => x.method === c.method)!.lr;
      assert.equal(c.lr, lr, `${c.method}: stage 2 ran stage 1's learning rate`);
      const entry = RECOMMENDED_BUDGETS[c.method];
      const expected = entry ?? { steps: CELL_DEFAULTS.steps, lr: getMethod(c.method).defaultLr };
      assert.deepEqual({ steps: c.steps, lr: c.lr }, { ...expected }, `${c.method}: recommended budget`);
    }
    const promptMethods = recommended.filter((c) => c.method !== "full-finetune").sort((a, b) => b.devMean - a.devMean);
    assert.equal(RECOMMENDED_PROMPT_METHOD, promptMethods[0]!.method, "the dev-best prompt method");
  });
});
