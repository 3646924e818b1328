/**
 * The training budgets the kit recommends, from notebook 10's budget and learning-rate study on kit-small
 * (imdb, amazon, yelp, spam, 3 seeds). Stage 1 chose each method's learning rate on mean dev accuracy at 1,000
 * steps; stage 2 chose the budget (200 / 1,000 / 3,000 steps) on mean dev accuracy, the smaller within 0.005:
 * prompt tuning lr 0.3, prefix tuning lr 1e-2 and full fine-tuning lr 3e-4, each for up to 3,000 steps (early
 * stopping ends most runs after 1,000-1,400). Head-only keeps its defaults (200 steps, lr 1e-2). `npm run bench`
 * and the comparison notebooks take these, so their cells are the same runs (and reuse each other's records); a
 * test checks them against the study's shipped records (results/notebooks/10-budget-study*.jsonl).
 *
 * Every run evaluates dev every 50 steps, keeps its best-dev weights and stops after 10 evaluations without
 * improvement (RECOMMENDED_FIXED).
 */
import type { GridSpec } from "./grid";

export const RECOMMENDED_BUDGETS: Readonly<Record<string, { readonly steps: number; readonly lr: number }>> =
  Object.freeze({
    "prompt-tuning": Object.freeze({ steps: 3000, lr: 0.3 }),
    "prefix-tuning": Object.freeze({ steps: 3000, lr: 1e-2 }),
    "full-finetune": Object.freeze({ steps: 3000, lr: 3e-4 }),
  });

/**
 * The prompt method the study supports: of prompt tuning and prefix tuning, each at its recommended budget, the one
 * with the higher mean dev accuracy. `npm run bench` runs it as its prompt method.
 */
export const RECOMMENDED_PROMPT_METHOD = "prefix-tuning";

export const RECOMMENDED_FIXED: Readonly<Record<string, unknown>> = Object.freeze({
  evalEvery: 50,
  patience: 10,
  maxDev: 200,
});

/**
 * A grid's `methodOptions` giving each listed method with a recommended budget its steps and learning rate (only
 * the learning rate when `steps` is fixed for every method), or undefined when no listed method has one.
 */
export function recommendedMethodOptions(
  methods: readonly string[],
  opts: { readonly fixedSteps?: boolean } = {},
): GridSpec["methodOptions"] {
  const out: Record<string, Record<string, unknown[]>> = {};
  for (const m of methods) {
    const b = RECOMMENDED_BUDGETS[m];
    if (b !== undefined) out[m] = opts.fixedSteps === true ? { lr: [b.lr] } : { steps: [b.steps], lr: [b.lr] };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
