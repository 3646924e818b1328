/**
 * A notebook's grid in one call: runCells (run-cells.ts) with the notebook conventions — results in the notebook's
 * results file, quick runs start clean, full runs resume and reuse identical runs recorded anywhere under reports/
 * — then one status line, and a loud failure if any cell ended without a record.
 */
import type { Cell } from "../experiment/grid";
import { earlierResultsFiles, resultsPathFor } from "./paths";
import { runCells, type RunCellsOptions, type RunCellsResult } from "./run-cells";

export interface StudyOptions extends Partial<RunCellsOptions> {
  /** the notebook's name (results file, progress label). */
  readonly name: string;
  readonly quick: boolean;
  /** receives the status line (default console.log). */
  readonly log?: (line: string) => void;
}

/** "12/12 cells recorded (4 run now, 2 copied from earlier runs, 6 resumed) in 35 s" */
export function studyStatus(cells: number, out: RunCellsResult): string {
  return `${out.records.length}/${cells} cells recorded (${out.ran - out.reused} run now, ${out.reused} copied from earlier runs, ${out.skipped} resumed) in ${out.elapsedSeconds.toFixed(0)} s`;
}

export async function runStudy(cells: readonly Cell[], opts: StudyOptions): Promise<RunCellsResult> {
  const { name, quick, log, ...rest } = opts;
  const out = await runCells(cells, {
    resultsPath: resultsPathFor(name, quick, rest.root),
    fresh: quick,
    label: name,
    reuseFrom: quick ? [] : earlierResultsFiles(rest.root),
    ...rest,
  });
  (log ?? console.log)(studyStatus(cells.length, out));
  if (out.records.length !== cells.length) {
    const have = new Set(out.records.map((r) => r.cellId));
    const missing = cells.filter((c) => !have.has(c.cellId)).map((c) => c.cellId);
    throw new Error(
      `${name}: ${missing.length} of ${cells.length} cells have no record (${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", ..." : ""}); see ${resultsPathFor(name, quick, rest.root)}`,
    );
  }
  return out;
}
