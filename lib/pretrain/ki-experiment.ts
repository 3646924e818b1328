/**
 * The knowledge-inheritance experiment (Qin et al. 2021): per seed, the same student size is pre-trained twice
 * on the same data order (same seed, batch, length, learning-rate schedule and steps, hence the same initial
 * weights and the same windows at every step), once from scratch and once with KI from a smaller teacher; the
 * two validation curves give the compute KI saves (compute-saved.ts).
 *
 * This file is the experiment's bookkeeping, free of training code: the options, where each run lives
 * (run folders under runs/, so the pre-training CLI resumes them), the exact pre-training command of each run,
 * reading a finished run back, the savings per seed and their mean, the optional prompt-tuning check, and the
 * result file (writing and validating). scripts/ki-experiment.ts runs the plan; notebook 06 reads the results.
 *
 * Layout (R = runRoot, E = the experiment folder named from every training and evaluation setting):
 *   R/E/seed<S>/scratch/{ckpt/, model/}                                  from scratch
 *   R/E/seed<S>/ki-<teacher>-a<alpha>-end<N>-T<temp>-<full|topK>/{...}   with KI
 *   R/E/pt-check.jsonl                                                   prompt-tuning check records
 * Each run folder is a pretrain --run-dir (ckpt/ is its resumable state); model/ is the checkpoint the CLI
 * writes when the run finishes (its --out).
 *
 * The concepts live in their own files; this module re-exports them (scripts/ki-experiment.ts and notebook 06
 * import it as one):
 *   ki-experiment-options.ts  options, defaults, validation
 *   ki-experiment-plan.ts     run folders and pre-training commands
 *   ki-run-summary.ts         run status and the summary of a finished run
 *   ki-savings.ts             compute saved per seed and on average
 *   ki-pt-check.ts            the prompt-tuning check
 *   ki-result.ts              the result file (writing and validating)
 */
export * from "./ki-experiment-options";
export * from "./ki-experiment-plan";
export * from "./ki-run-summary";
export * from "./ki-savings";
export * from "./ki-pt-check";
export * from "./ki-result";
