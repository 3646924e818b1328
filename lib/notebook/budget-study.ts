/**
 * Notebook 10's study plan: how many steps and which learning rate each training method needs on a shipped
 * backbone, in two stages so it fits a laptop.
 *
 * - Stage 1 (learning rate): every method x every candidate learning rate at the middle budget, one seed, every
 *   task. The learning rate with the best mean dev accuracy over the tasks is kept (lib/experiment/budget-study.ts).
 * - Stage 2 (budget): every method at its chosen learning rate x every budget x every seed; the dev-best budget is
 *   recommended (the smaller one within 0.005), and test accuracy is reported with intervals for all of them.
 * - Baselines: zero-shot and head-only (its default steps) on the same tasks and seeds.
 *
 * Every run stops early on dev (patience) and keeps its best-dev weights, so a long budget costs only as long as dev
 * keeps improving. Quick mode (CI) shrinks everything to a plumbing check.
 */
import { chooseLearningRates, type BudgetChoice } from "../experiment/budget-study";
import { expandGrid, type Cell } from "../experiment/grid";
import { RECOMMENDED_FIXED } from "../experiment/recommended-budgets";
import type { RunRecord } from "../experiment/record";

export interface BudgetStudyPlan {
  readonly backbone: string;
  readonly tasks: readonly string[];
  readonly seeds: readonly number[];
  /** step budgets, ascending; stage 1 runs at the middle one. */
  readonly budgets: readonly number[];
  /** candidate learning rates per trained method. */
  readonly learningRates: Readonly<Record<string, readonly number[]>>;
  /** options every cell shares (evaluation cadence, early stopping, dev/test sizes, prompt shape). */
  readonly fixed: Readonly<Record<string, unknown>>;
}

export const BUDGET_STUDY_METHODS = Object.freeze(["prompt-tuning", "prefix-tuning", "full-finetune"]);

export function budgetStudyPlan(quick: boolean, backbone: string): BudgetStudyPlan {
  return quick
    ? {
        backbone,
        tasks: ["yelp"],
        seeds: [0],
        budgets: [10, 20],
        learningRates: {
          "prompt-tuning": [0.03, 0.3],
          "prefix-tuning": [3e-3, 1e-2],
          "full-finetune": [1e-4, 3e-4],
        },
        fixed: { evalEvery: 10, patience: 2, maxDev: 64, maxTest: 128 },
      }
    : {
        backbone,
        tasks: ["imdb", "amazon", "yelp", "spam"],
        seeds: [0, 1, 2],
        budgets: [200, 1000, 3000],
        learningRates: {
          "prompt-tuning": [0.03, 0.3],
          "prefix-tuning": [3e-3, 1e-2],
          "full-finetune": [1e-4, 3e-4],
        },
        fixed: { ...RECOMMENDED_FIXED },
      };
}

const middle = (xs: readonly number[]) => xs[Math.floor(xs.length / 2)]!;

/** Stage 1: every method x learning rate at the middle budget, the first seed. */
export function learningRateCells(plan: BudgetStudyPlan): Cell[] {
  return BUDGET_STUDY_METHODS.flatMap((method) =>
    expandGrid({
      name: "budget-study-lr",
      backbones: [plan.backbone],
      tasks: [...plan.tasks],
      methods: [method],
      seeds: [plan.seeds[0]!],
      options: { lr: [...plan.learningRates[method]!] },
      fixed: { ...plan.fixed, steps: middle(plan.budgets) },
    }),
  );
}

/** The learning rate stage 1 chose for each method (its dev accuracy over every task). */
export function stageOneChoices(records: readonly RunRecord[]): BudgetChoice[] {
  return chooseLearningRates(records);
}

/**
 * Stage 2: every method at its chosen learning rate x every budget x every seed, shortest budget first (so a run
 * stopped part way has whole columns of the cheaper budgets), then the baselines.
 */
export function budgetCells(plan: BudgetStudyPlan, choices: readonly BudgetChoice[]): Cell[] {
  const trained = BUDGET_STUDY_METHODS.flatMap((method) => {
    const c = choices.find((x) => x.method === method && x.backbone === plan.backbone);
    if (!c) throw new Error(`budget study: stage 1 chose no learning rate for ${method} on ${plan.backbone}`);
    return expandGrid({
      name: "budget-study-steps",
      backbones: [plan.backbone],
      tasks: [...plan.tasks],
      methods: [method],
      seeds: [...plan.seeds],
      options: { steps: [...plan.budgets] },
      fixed: { ...plan.fixed, ...(c.lr === "default" ? {} : { lr: c.lr }) },
    });
  });
  const byBudget = plan.budgets.flatMap((steps) => trained.filter((c) => c.config["steps"] === steps));
  const baselines = expandGrid({
    name: "budget-study-baselines",
    backbones: [plan.backbone],
    tasks: [...plan.tasks],
    methods: ["zero-shot", "calibrated-zero-shot", "head-only"],
    seeds: [...plan.seeds],
    fixed: { ...plan.fixed },
  });
  return [...byBudget, ...baselines];
}
