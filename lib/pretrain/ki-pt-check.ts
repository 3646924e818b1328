/**
 * The prompt-tuning check of the knowledge-inheritance experiment: does prompt tuning (and full fine-tuning) on
 * the KI-grown student do as well as on the scratch one? One grid cell per seed x student x method; the rows and
 * the per-method summary come from the grid's records.
 */
import * as path from "node:path";
import { mean } from "../eval/stats";
import { makeCell, type Cell } from "../experiment/grid";
import type { RunRecord } from "../experiment/record";
import { relativeInside } from "../io/paths";
import type { KiExperimentOptions } from "./ki-experiment-options";
import type { KiExperimentPlan, RunKind } from "./ki-experiment-plan";

export interface PtCheckCell {
  readonly seed: number;
  readonly student: RunKind;
  readonly cell: Cell;
}

/** Path of a run's checkpoint as a runCell backbone: relative to `root` when inside it (always contains "/"). */
export function backbonePath(checkpointDir: string, root: string): string {
  const abs = path.resolve(checkpointDir);
  return (relativeInside(root, abs) ?? abs).split(path.sep).join("/");
}

/** One cell per seed x student x method; the cell's seed is the training seed (same as the pre-training seed). */
export function ptCheckCells(plan: KiExperimentPlan, root: string): PtCheckCell[] {
  const o = plan.options;
  const out: PtCheckCell[] = [];
  for (const s of plan.seeds) {
    for (const run of [s.scratch, s.ki]) {
      for (const method of o.ptMethods) {
        out.push({
          seed: s.seed,
          student: run.kind,
          cell: makeCell({
            backbone: backbonePath(run.checkpointDir, root),
            task: o.ptTask,
            method,
            seed: s.seed,
            options: { steps: o.ptSteps },
          }),
        });
      }
    }
  }
  return out;
}

export interface PtCheckRow {
  readonly seed: number;
  readonly student: RunKind;
  readonly method: string;
  readonly task: string;
  /** runCell backbone path and the checkpoint's weights fingerprint. */
  readonly backbone: string;
  readonly fingerprint: string;
  readonly testAccuracy: number;
  readonly devAccuracy: number | null;
  readonly steps: number;
  readonly wallSeconds: number;
  readonly cellId: string;
}

export interface PtCheckSummaryRow {
  readonly method: string;
  readonly seeds: number;
  readonly scratchAccuracy: number;
  readonly kiAccuracy: number;
  /** mean over seeds of (KI - scratch) test accuracy. */
  readonly kiMinusScratch: number;
}

export interface PtCheck {
  readonly task: string;
  readonly steps: number;
  readonly rows: readonly PtCheckRow[];
  readonly summary: readonly PtCheckSummaryRow[];
}

/** Rows of the check from the grid records; throws if a record is missing or was made on other weights. */
export function ptCheckResult(
  cells: readonly PtCheckCell[],
  records: readonly RunRecord[],
  fingerprints: ReadonlyMap<string, string>,
  o: KiExperimentOptions,
): PtCheck {
  const byId = new Map(records.map((r) => [r.cellId, r]));
  const rows = cells.map(({ seed, student, cell }) => {
    const r = byId.get(cell.cellId);
    if (!r)
      throw new Error(
        `prompt-tuning check: no record for cell ${cell.cellId} (${cell.method} on ${cell.backbone}, seed ${seed})`,
      );
    const want = fingerprints.get(cell.backbone);
    if (want !== undefined && r.backbone.fingerprint !== want) {
      throw new Error(
        `prompt-tuning check: the record of cell ${cell.cellId} (${cell.method} on ${cell.backbone}) was made on weights ${r.backbone.fingerprint}, ` +
          `the checkpoint now has ${want}; move the pt-check results file away to rerun`,
      );
    }
    return {
      seed,
      student,
      method: cell.method,
      task: cell.task,
      backbone: cell.backbone,
      fingerprint: r.backbone.fingerprint,
      testAccuracy: r.metrics.accuracy,
      devAccuracy: r.devMetrics?.accuracy ?? null,
      steps: r.steps,
      wallSeconds: r.wallSeconds,
      cellId: cell.cellId,
    };
  });
  return { task: o.ptTask, steps: o.ptSteps, rows, summary: ptCheckSummary(rows) };
}

/** Per method: mean test accuracy of each student and the mean paired difference KI - scratch over seeds. */
export function ptCheckSummary(rows: readonly PtCheckRow[]): PtCheckSummaryRow[] {
  const methods = [...new Set(rows.map((r) => r.method))];
  return methods.map((method) => {
    const seeds = [...new Set(rows.filter((r) => r.method === method).map((r) => r.seed))];
    const pairs = seeds.map((seed) => {
      const get = (student: RunKind) =>
        rows.find((r) => r.method === method && r.seed === seed && r.student === student);
      const s = get("scratch");
      const k = get("ki");
      if (!s || !k)
        throw new Error(`prompt-tuning check: ${method}, seed ${seed}: ${!s ? "scratch" : "KI"} row missing`);
      return { s: s.testAccuracy, k: k.testAccuracy };
    });
    return {
      method,
      seeds: pairs.length,
      scratchAccuracy: mean(pairs.map((p) => p.s)),
      kiAccuracy: mean(pairs.map((p) => p.k)),
      kiMinusScratch: mean(pairs.map((p) => p.k - p.s)),
    };
  });
}
