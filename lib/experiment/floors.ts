/**
 * Does a trained method clear the floors? On a task, a method's test accuracy clears them when the lower end of its
 * 95% interval over seeds is above the mean of every floor method run on that task (zero-shot, calibrated zero-shot,
 * a linear probe): the criterion the bench prints and notebook 10 tabulates.
 */
import type { SummaryRow } from "./summary";

/** The methods that train nothing or only a probe on frozen features: what a prompt method has to beat. */
export const FLOOR_METHODS: readonly string[] = Object.freeze(["zero-shot", "calibrated-zero-shot", "head-only"]);

export interface FloorVerdict {
  readonly backbone: string;
  readonly task: string;
  readonly method: string;
  /** the method's row (one option setting: rows differing in options each get a verdict). */
  readonly row: SummaryRow;
  /** the best floor on this task: its method and mean test accuracy. */
  readonly floorMethod: string;
  readonly floor: number;
  /** row.accuracy.ciLow > floor. */
  readonly clears: boolean;
}

/**
 * One verdict per row of `methods` whose (backbone, task) has at least one floor row; rows without floors are
 * skipped (nothing to compare with).
 */
export function floorVerdicts(
  rows: readonly SummaryRow[],
  methods: readonly string[],
  floors: readonly string[] = FLOOR_METHODS,
): FloorVerdict[] {
  const out: FloorVerdict[] = [];
  for (const row of rows) {
    if (!methods.includes(row.method)) continue;
    const candidates = rows.filter(
      (f) => floors.includes(f.method) && f.task === row.task && f.backbone === row.backbone,
    );
    if (candidates.length === 0) continue;
    const best = candidates.reduce((a, b) => (b.accuracy.mean > a.accuracy.mean ? b : a));
    out.push({
      backbone: row.backbone,
      task: row.task,
      method: row.method,
      row,
      floorMethod: best.method,
      floor: best.accuracy.mean,
      clears: row.accuracy.ciLow > best.accuracy.mean,
    });
  }
  return out;
}
