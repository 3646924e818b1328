/**
 * "Compute saved" by knowledge inheritance, from two validation curves of the same student size trained on the
 * same data order (same seed, batch, length): one from scratch, one with KI.
 *
 *   saved = 1 - (steps the KI run needs to reach the scratch run's final validation loss) / (scratch steps)
 *
 * The KI step count is the first crossing of that loss level, linearly interpolated between the two evaluation
 * points that bracket it. If the KI run's first evaluation is already at or below the level, that evaluation's
 * step is used (nothing is known about earlier steps, so this is an upper bound on the steps needed). If the KI
 * run never reaches the level, the result is null ("not reached"). A negative value means KI needed more steps.
 * Steps, not seconds: the teacher's forward pass makes a KI step dearer, which the caller accounts for separately.
 */

export interface CurvePoint {
  /** optimizer steps taken when the point was evaluated. */
  readonly step: number;
  /** validation loss (nats/token). */
  readonly valLoss: number;
}

export interface ComputeSaved {
  /** the scratch run's final validation loss: the level the KI run must reach. */
  readonly target: number;
  /** step of the scratch run's final evaluation. */
  readonly scratchSteps: number;
  /** interpolated step at which the KI run first reaches `target`; null = never reached. */
  readonly kiSteps: number | null;
  /** 1 - kiSteps / scratchSteps; null = never reached. */
  readonly saved: number | null;
}

function validate(curve: readonly CurvePoint[], which: string): void {
  if (!Array.isArray(curve) || curve.length === 0) throw new Error(`computeSaved: the ${which} curve is empty`);
  curve.forEach((p, i) => {
    if (typeof p?.step !== "number" || !Number.isFinite(p.step) || p.step < 0) {
      throw new Error(
        `computeSaved: ${which} curve point ${i}: step must be a non-negative number, got ${JSON.stringify(p?.step)}`,
      );
    }
    if (typeof p.valLoss !== "number" || !Number.isFinite(p.valLoss)) {
      throw new Error(
        `computeSaved: ${which} curve point ${i}: valLoss must be a finite number, got ${JSON.stringify(p.valLoss)}`,
      );
    }
    if (i > 0 && !(p.step > curve[i - 1]!.step)) {
      throw new Error(
        `computeSaved: ${which} curve point ${i}: step ${p.step} is not after the previous step ${curve[i - 1]!.step}`,
      );
    }
  });
}

/** First step (interpolated) at which `curve` reaches `level` or below; null if it never does. */
export function stepsToReach(curve: readonly CurvePoint[], level: number): number | null {
  for (let i = 0; i < curve.length; i++) {
    const p = curve[i]!;
    if (p.valLoss > level) continue;
    if (i === 0) return p.step;
    const prev = curve[i - 1]!; // prev.valLoss > level >= p.valLoss
    return prev.step + ((prev.valLoss - level) / (prev.valLoss - p.valLoss)) * (p.step - prev.step);
  }
  return null;
}

export function computeSaved(scratch: readonly CurvePoint[], ki: readonly CurvePoint[]): ComputeSaved {
  validate(scratch, "scratch");
  validate(ki, "ki");
  const last = scratch[scratch.length - 1]!;
  if (!(last.step > 0))
    throw new Error(`computeSaved: the scratch curve ends at step ${last.step}; it needs at least one training step`);
  const kiSteps = stepsToReach(ki, last.valLoss);
  return {
    target: last.valLoss,
    scratchSteps: last.step,
    kiSteps,
    saved: kiSteps === null ? null : 1 - kiSteps / last.step,
  };
}
