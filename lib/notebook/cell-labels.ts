/** How cells are named and counted in progress displays. */
import { canonicalJson } from "../experiment/cell-id";
import { resolveCellOptions, stage1StepsOf } from "../experiment/cell-options";
import type { Cell } from "../experiment/grid";
import { getMethod } from "../tuning/methods";

/**
 * Short names for cells in progress displays: the fields that differ among `cells` (backbone, task, method,
 * options; null shown as "all", or "none" for stage1Task), plus the seed, e.g. "prompt-tuning promptLength=5 s0".
 */
export function cellLabels(cells: readonly Cell[]): Map<string, string> {
  const varies = (f: (c: Cell) => unknown): boolean => new Set(cells.map((c) => canonicalJson(f(c) ?? null))).size > 1;
  const optionKeys = [...new Set(cells.flatMap((c) => Object.keys(c.options)))]
    .sort()
    .filter((k) => varies((c) => c.options[k]));
  const out = new Map<string, string>();
  for (const c of cells) {
    const parts: string[] = [];
    if (varies((x) => x.backbone)) parts.push(c.backbone);
    if (varies((x) => x.task)) parts.push(c.task);
    if (varies((x) => x.method)) parts.push(c.method);
    for (const k of optionKeys) {
      const v = c.options[k];
      // null is "all" for the kit's size options (trainPerClass, maxDev, maxTest), "none" for stage1Task.
      const nullText = k === "stage1Task" ? "none" : "all";
      if (v !== undefined) parts.push(`${k}=${typeof v === "string" ? v : v === null ? nullText : canonicalJson(v)}`);
    }
    parts.push(`s${c.seed}`);
    out.set(c.cellId, parts.join(" "));
  }
  return out;
}

/** Progress units of a cell: its training steps, or 1 for a method that does not train. */
export function cellUnits(cell: Cell): number {
  if (!getMethod(cell.method).trains) return 1;
  const o = resolveCellOptions(cell.options, `cell ${cell.cellId}`);
  return stage1StepsOf(o) + o.steps;
}
