/**
 * Learning-rate schedules: a pure function of the step (0-based), so a resumed run continues exactly.
 */

export type Schedule =
  | { readonly kind: "constant"; readonly lr: number }
  | {
      readonly kind: "warmup-cosine";
      readonly lr: number;
      readonly warmupSteps: number;
      readonly totalSteps: number;
      /** final learning rate as a fraction of lr. */
      readonly minRatio: number;
    }
  | { readonly kind: "warmup-linear"; readonly lr: number; readonly warmupSteps: number; readonly totalSteps: number };

export function learningRateAt(s: Schedule, step: number): number {
  if (!(s.lr > 0)) throw new Error(`schedule.lr must be > 0, got ${s.lr}`);
  switch (s.kind) {
    case "constant":
      return s.lr;
    case "warmup-cosine": {
      if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
      const span = Math.max(1, s.totalSteps - s.warmupSteps);
      const progress = Math.min(1, (step - s.warmupSteps) / span);
      return s.lr * (s.minRatio + (1 - s.minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
    }
    case "warmup-linear": {
      if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
      const span = Math.max(1, s.totalSteps - s.warmupSteps);
      return s.lr * Math.max(0, 1 - (step - s.warmupSteps) / span);
    }
  }
}
