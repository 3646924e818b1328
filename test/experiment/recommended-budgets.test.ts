import { strict as assert } from "node:assert";
import { expandGrid } from "../../lib/experiment/grid";
import {
  RECOMMENDED_BUDGETS,
  RECOMMENDED_FIXED,
  recommendedMethodOptions,
} from "../../lib/experiment/recommended-budgets";
import { resolveCellOptions } from "../../lib/experiment/cell-options";
import { budgetStudyPlan } from "../../lib/notebook/budget-study";

describe("experiment/recommended-budgets", () => {
  it("gives the prompt methods their steps and learning rate, and leaves the other methods alone", () => {
    const methods = ["zero-shot", "head-only", "prompt-tuning", "prefix-tuning", "full-finetune"];
    assert.deepEqual(recommendedMethodOptions(methods), {
      "prompt-tuning": { steps: [1000], lr: [0.3] },
      "prefix-tuning": { steps: [1000], lr: [0.01] },
    });
    assert.deepEqual(recommendedMethodOptions(methods, { fixedSteps: true }), {
      "prompt-tuning": { lr: [0.3] },
      "prefix-tuning": { lr: [0.01] },
    });
    assert.equal(recommendedMethodOptions(["zero-shot", "full-finetune"]), undefined);
  });

  it("expands to cells whose resolved options are the study's (and valid cell options)", () => {
    const methods = ["prompt-tuning", "full-finetune"];
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
    assert.equal(byMethod.get("prompt-tuning")!.steps, 1000);
    assert.equal(byMethod.get("prompt-tuning")!.lr, 0.3);
    assert.equal(byMethod.get("prompt-tuning")!.patience, 10);
    assert.equal(byMethod.get("full-finetune")!.steps, 200);
    assert.equal(byMethod.get("full-finetune")!.lr, null);
  });

  it("are among the candidates and budgets notebook 10's study tries, with its fixed options", () => {
    const plan = budgetStudyPlan(false, "kit-small");
    for (const [method, b] of Object.entries(RECOMMENDED_BUDGETS)) {
      assert.ok(plan.learningRates[method]!.includes(b.lr), `${method} lr ${b.lr}`);
      assert.ok(plan.budgets.includes(b.steps), `${method} steps ${b.steps}`);
    }
    assert.deepEqual({ ...plan.fixed }, { ...RECOMMENDED_FIXED });
  });
});
