/**
 * The optimizers a training run can use, behind one interface: AdamW (two moments per trained scalar) and
 * Adafactor (factored second moments: n + m numbers per n×m matrix, no momentum by default), the optimizer of T5,
 * Lester et al. (2021) and CPM-2. The trainer takes a name; everything else sees an Optimizer.
 */
import type { tf } from "../backend/backend";
import { Adafactor } from "./adafactor";
import { AdamW } from "./adamw";
import type { StepResult } from "./gradient-step";

export interface Optimizer {
  readonly vars: readonly tf.Variable[];
  /** steps taken. */
  readonly steps: number;
  /** Scalars of optimizer state held in memory (for memory accounting). */
  readonly stateSize: number;
  /** Loss and gradients of `vars`, global-norm clipping, one update; throws (no update) on a non-finite loss. */
  step(lossFn: () => tf.Scalar, lr: number): StepResult;
  dispose(): void;
}

export const OPTIMIZER_NAMES = ["adamw", "adafactor"] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

export interface OptimizerSettings {
  readonly weightDecay: number;
  readonly clipNorm: number;
}

/** Builds the named optimizer over `vars`; unknown names are an error listing the known ones. */
export function makeOptimizer(
  name: string,
  vars: readonly tf.Variable[],
  settings: OptimizerSettings,
  decayFilter?: (name: string) => boolean,
): Optimizer {
  switch (name) {
    case "adamw":
      return new AdamW(vars, settings, decayFilter);
    case "adafactor":
      return new Adafactor(vars, settings, decayFilter);
    default:
      throw new Error(`unknown optimizer '${name}' (known: ${OPTIMIZER_NAMES.join(", ")})`);
  }
}

/** Optimizer-state scalars `name` keeps for parameters of these shapes (without building it). */
export function optimizerStateSize(name: string, shapes: readonly (readonly number[])[]): number {
  const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
  switch (name) {
    case "adamw":
      return shapes.reduce((n, s) => n + 2 * size(s), 0);
    case "adafactor":
      return shapes.reduce((n, s) => n + (s.length >= 2 ? size(s.slice(0, -1)) + s[s.length - 1]! : size(s)), 0);
    default:
      throw new Error(`unknown optimizer '${name}' (known: ${OPTIMIZER_NAMES.join(", ")})`);
  }
}
