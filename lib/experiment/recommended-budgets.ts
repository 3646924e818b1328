/**
 * The training budgets the kit recommends, from notebook 10's budget and learning-rate study on kit-small
 * (imdb, amazon, yelp, spam; learning rate chosen on mean dev accuracy at 1,000 steps with early stopping):
 * prompt tuning lr 0.3 and prefix tuning lr 1e-2 for 1,000 steps. Head-only and full fine-tuning keep their
 * defaults (200 steps, lr 1e-2 and 3e-4). `npm run bench` and the comparison notebooks take these, so their
 * cells are the same runs (and reuse each other's records).
 *
 * Every run evaluates dev every 50 steps, keeps its best-dev weights and stops after 10 evaluations without
 * improvement (RECOMMENDED_FIXED).
 */
import type { GridSpec } from "./grid";

export const RECOMMENDED_BUDGETS: Readonly<Record<string, { readonly steps: number; readonly lr: number }>> =
  Object.freeze({
    "prompt-tuning": Object.freeze({ steps: 1000, lr: 0.3 }),
    "prefix-tuning": Object.freeze({ steps: 1000, lr: 1e-2 }),
  });

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
