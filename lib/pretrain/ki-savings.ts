/**
 * The compute knowledge inheritance saves: per seed in optimizer steps (compute-saved.ts), in FLOP-equivalent
 * steps with the teacher's forward passes paid for, and in training seconds; then the mean over seeds.
 */
import type { TransformerConfig } from "../backbone/config";
import { nonEmbeddingParams } from "../backbone/config";
import { mean } from "../eval/stats";
import { ComputeSaved, computeSaved } from "./compute-saved";
import type { RunSummary, TimedCurvePoint } from "./ki-run-summary";

/**
 * Forward-pass FLOPs per token (Kaplan et al. 2020): 2 per weight of the blocks and of the tied output matrix
 * (2 N_nonemb + 2 V d) plus attention scores and mixing over a context of `length` (2 n_layer n_ctx d). A
 * training step is about 3x its forward pass (backward = 2x forward).
 */
export function forwardFlopsPerToken(c: TransformerConfig, length: number): number {
  return 2 * (nonEmbeddingParams(c) + c.vocabSize * c.dModel) + 2 * c.nLayers * length * c.dModel;
}

/** Extra cost of a KI step while a_t > 0: the teacher's forward pass, as a fraction of a student training step. */
export function teacherOverhead(teacher: TransformerConfig, student: TransformerConfig, length: number): number {
  return forwardFlopsPerToken(teacher, length) / (3 * forwardFlopsPerToken(student, length));
}

/** Linear interpolation of `seconds` at a (fractional) step along a curve; before the first point: proportional. */
export function secondsAtStep(curve: readonly TimedCurvePoint[], step: number): number {
  if (curve.length === 0) throw new Error("secondsAtStep: empty curve");
  const first = curve[0]!;
  if (step <= first.step) return first.step > 0 ? (first.seconds * step) / first.step : first.seconds;
  for (let i = 1; i < curve.length; i++) {
    const a = curve[i - 1]!;
    const b = curve[i]!;
    if (step <= b.step) return a.seconds + ((step - a.step) / (b.step - a.step)) * (b.seconds - a.seconds);
  }
  return curve[curve.length - 1]!.seconds;
}

export interface SeedSaving extends ComputeSaved {
  /**
   * kiSteps in student-training-step equivalents, counting the teacher's forward passes:
   * kiSteps + overhead * min(kiSteps, kiEndStep); null = not reached.
   */
  readonly kiCostSteps: number | null;
  /** 1 - kiCostSteps / scratchSteps: the saving after paying for the teacher (FLOP estimate); null = not reached. */
  readonly savedWithTeacher: number | null;
  /** training seconds the KI run took to reach the target (interpolated along its curve); null = not reached. */
  readonly kiSecondsToTarget: number | null;
  /** training seconds of the whole scratch run. */
  readonly scratchSeconds: number;
  /** 1 - kiSecondsToTarget / scratchSeconds (wall clock: noisy on a shared machine); null = not reached. */
  readonly savedWallClock: number | null;
}

/** Compute saved by the KI run of one seed, in steps, in FLOP-equivalent steps (teacher included) and in seconds. */
export function seedSaving(
  scratch: readonly TimedCurvePoint[],
  ki: readonly TimedCurvePoint[],
  overhead: number,
  kiEndStep: number,
): SeedSaving {
  if (!(overhead >= 0 && Number.isFinite(overhead)))
    throw new Error(`seedSaving: teacher overhead must be a non-negative number, got ${overhead}`);
  const base = computeSaved(scratch, ki);
  const scratchSeconds = scratch[scratch.length - 1]!.seconds;
  if (base.kiSteps === null) {
    return {
      ...base,
      kiCostSteps: null,
      savedWithTeacher: null,
      kiSecondsToTarget: null,
      scratchSeconds,
      savedWallClock: null,
    };
  }
  const kiCostSteps = base.kiSteps + overhead * Math.min(base.kiSteps, kiEndStep);
  const kiSecondsToTarget = secondsAtStep(ki, base.kiSteps);
  return {
    ...base,
    kiCostSteps,
    savedWithTeacher: 1 - kiCostSteps / base.scratchSteps,
    kiSecondsToTarget,
    scratchSeconds,
    savedWallClock: scratchSeconds > 0 ? 1 - kiSecondsToTarget / scratchSeconds : null,
  };
}

export interface SavingSummary {
  readonly seeds: number;
  /** seeds whose KI run reached the scratch run's final validation loss. */
  readonly reached: number;
  /** mean over seeds of `saved`; null unless every seed reached the target (a mean over the others would flatter KI). */
  readonly meanSaved: number | null;
  readonly meanSavedWithTeacher: number | null;
  readonly meanSavedWallClock: number | null;
  /** mean final validation loss (whole held-out split) of each arm. */
  readonly meanFinalValLoss: { readonly scratch: number; readonly ki: number };
}

function meanOrNull(xs: readonly (number | null)[]): number | null {
  if (xs.length === 0 || xs.some((x) => x === null)) return null;
  return mean(xs as number[]);
}

export function summarizeSavings(
  seeds: readonly { scratch: RunSummary; ki: RunSummary; saving: SeedSaving }[],
): SavingSummary {
  if (seeds.length === 0) throw new Error("summarizeSavings: no seeds");
  return {
    seeds: seeds.length,
    reached: seeds.filter((s) => s.saving.saved !== null).length,
    meanSaved: meanOrNull(seeds.map((s) => s.saving.saved)),
    meanSavedWithTeacher: meanOrNull(seeds.map((s) => s.saving.savedWithTeacher)),
    meanSavedWallClock: meanOrNull(seeds.map((s) => s.saving.savedWallClock)),
    meanFinalValLoss: {
      scratch: mean(seeds.map((s) => s.scratch.finalValLoss)),
      ki: mean(seeds.map((s) => s.ki.finalValLoss)),
    },
  };
}
