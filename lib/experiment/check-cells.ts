/**
 * Whole-grid validation before anything runs: every cell's method, task, backbone and resolved options are
 * checked up front, so a bad value fails the run in a second with a message naming the grid file, the cell and
 * the option as the user wrote it, instead of failing inside each worker once per cell after the first cells
 * have already trained.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { CHECKPOINT_FILES, hasWeights } from "../backbone/checkpoint";
import { PROMPT_SLOTS, parsePosition } from "../prompt/positions";
import { TASK_NAMES } from "../tasks/data/registry";
import { normalizeFileTask } from "../tasks/file-task";
import { TASK_SPECS } from "../tasks/task-specs";
import { parsePattern } from "../tasks/template";
import { METHOD_NAMES, getMethod } from "../tuning/methods";
import { ValidationError } from "../io/validate";
import { CELL_DEFAULTS, checkOptionsForMethod, resolveCellOptions } from "./cell-options";
import type { Cell, GridSpec } from "./grid";
import { backboneDir, projectRoot } from "./project-paths";
import { describeCell } from "./runner";

export interface CheckCellsOptions {
  /** What the cells came from, in the user's words: "grids/x.json", "npm run bench", "runCells". */
  readonly source: string;
  /** Check that each backbone is a complete checkpoint folder (default true). */
  readonly backbones?: boolean;
  /** Project root for backbone names (default: found from this file). */
  readonly root?: string;
  /** Where the user set option `key` of `cell` (e.g. "fixed.lr", "--steps"), shown after the message; null: unknown. */
  readonly optionSource?: (cell: Cell, key: string) => string | null;
  /** Problems listed in the thrown error (default 5). */
  readonly maxListed?: number;
}

interface CellIssue {
  readonly index: number;
  readonly cell: Cell;
  /** the cell in the user's words: "<source>: cell 3 (kit-nano/yelp/prompt-tuning seed=0 lr=0.1)" */
  readonly where: string;
  /** what is wrong, without `where` */
  readonly detail: string;
}

/** Every problem of every cell (at most one per cell: the first found), each naming the source and the cell. */
export function cellProblems(cells: readonly Cell[], options: CheckCellsOptions): string[] {
  return cellIssues(cells, options).map((i) => `${i.where}: ${i.detail}`);
}

/**
 * Throws one error when any cell is invalid: how many cells are, then each distinct problem once with the cells
 * it affects (a missing backbone or a bad `fixed` value is one line, not one per cell).
 */
export function checkCells(cells: readonly Cell[], options: CheckCellsOptions): void {
  const issues = cellIssues(cells, options);
  if (issues.length === 0) return;
  const groups = new Map<string, CellIssue[]>();
  for (const i of issues) groups.set(i.detail, [...(groups.get(i.detail) ?? []), i]);
  const lines = [...groups.values()].map((g) => {
    if (g.length === 1) return `${g[0]!.where}: ${g[0]!.detail}`;
    const ids =
      g
        .slice(0, 8)
        .map((i) => i.index)
        .join(", ") + (g.length > 8 ? `, ... (${g.length} cells)` : "");
    return `${options.source}: cells ${ids} (first: ${describeCell(g[0]!.cell)}): ${g[0]!.detail}`;
  });
  const max = options.maxListed ?? 5;
  const more = lines.length > max ? `\n  ... and ${lines.length - max} more problems` : "";
  throw new Error(
    `${options.source}: ${issues.length} of ${cells.length} cells are invalid; nothing was run:\n  ${lines.slice(0, max).join("\n  ")}${more}`,
  );
}

function cellIssues(cells: readonly Cell[], options: CheckCellsOptions): CellIssue[] {
  const root = options.root ?? projectRoot();
  const backboneOk = new Map<string, string | null>();
  const issues: CellIssue[] = [];
  cells.forEach((cell, index) => {
    const where = `${options.source}: cell ${index} (${describeCell(cell)})`;
    const problem = cellProblem(cell, where, options, () => {
      if (!backboneOk.has(cell.backbone)) backboneOk.set(cell.backbone, backboneProblem(cell.backbone, root));
      return backboneOk.get(cell.backbone)!;
    });
    if (problem !== null)
      issues.push({
        index,
        cell,
        where,
        detail: problem.startsWith(`${where}: `) ? problem.slice(where.length + 2) : problem,
      });
  });
  return issues;
}

function cellProblem(
  cell: Cell,
  where: string,
  options: CheckCellsOptions,
  backbone: () => string | null,
): string | null {
  if (!(METHOD_NAMES as readonly string[]).includes(cell.method))
    return `${where}: method '${cell.method}' is not one of ${METHOD_NAMES.join(", ")}`;
  if (!(TASK_NAMES as readonly string[]).includes(cell.task) && cell.tasks?.[cell.task] === undefined) {
    return `${where}: task '${cell.task}' is not one of ${TASK_NAMES.join(", ")} (or a file task object { name, file, textColumn, labelColumn, ... })`;
  }
  if (options.backbones !== false) {
    const b = backbone();
    if (b !== null) return `${where}: ${b}`;
  }
  try {
    const o = resolveCellOptions(cell.options, where);
    const method = getMethod(cell.method);
    checkOptionsForMethod(o, method, where);
    if (!method.trainsPrompt) return null;
    if (
      o.stage1Task !== null &&
      !(TASK_NAMES as readonly string[]).includes(o.stage1Task) &&
      cell.tasks?.[o.stage1Task] === undefined
    ) {
      return `${where}: option stage1Task '${o.stage1Task}' is not one of ${TASK_NAMES.join(", ")} (or a file task object in fixed.stage1Task)`;
    }
    for (const task of [cell.task, ...(o.stage1Task !== null ? [o.stage1Task] : [])]) {
      const missing = missingSlots(task, o.promptPosition, o.promptLength, cell);
      if (missing !== null)
        return `${where}: option promptPosition '${o.promptPosition}' needs slot(s) ${missing} that task '${task}' lacks`;
    }
    return null;
  } catch (err) {
    const message = (err as Error).message;
    const key = optionKeyOf(err, where);
    const from = key !== null ? options.optionSource?.(cell, key) : null;
    return from ? `${message} (set by ${from})` : message;
  }
}

/** The slots `position` needs that `task`'s shipped template lacks ("middle (template ...)"), or null. */
function missingSlots(task: string, position: string, length: number, cell: Cell): string | null {
  const fileTask = fileTaskTemplate(cell, task);
  const pattern = fileTask ?? TASK_SPECS[task]?.template.pattern;
  if (pattern === undefined) return null; // a task without a shipped spec gets a default template: runCell checks it
  const spec = { template: { pattern } };
  const offered = parsePattern(spec.template.pattern).flatMap((p) => (p.kind === "slot" ? [p.slot] : []));
  const lengths = parsePosition(position, length);
  const missing = PROMPT_SLOTS.filter((slot) => lengths[slot] > 0 && !offered.includes(slot));
  return missing.length === 0
    ? null
    : `${missing.join(", ")} (template ${JSON.stringify(spec.template.pattern)} offers ${offered.join(", ")})`;
}

/** The template pattern of a file task bound to `cell` under `key` (defaults filled in), or null. */
function fileTaskTemplate(cell: Cell, key: string): string | null {
  const b = cell.tasks?.[key];
  if (b === undefined || typeof b.ref === "string") return null;
  return normalizeFileTask(b.ref, key).template.pattern;
}

/** The option a validation error is about, from its `where` ("<where>: option lr ..."). */
function optionKeyOf(err: unknown, where: string): string | null {
  if (!(err instanceof ValidationError)) return null;
  const rest = err.where.slice(`${where}: option `.length);
  return Object.keys(CELL_DEFAULTS).find((k) => rest === k || rest.startsWith(`${k} `)) ?? null;
}

/** null when `name` is a complete checkpoint folder, else what is missing. */
function backboneProblem(name: string, root: string): string | null {
  const dir = backboneDir(name, root);
  // Weights: model.safetensors, or a shard index (hub models are often sharded).
  const missing = [CHECKPOINT_FILES.config, CHECKPOINT_FILES.weights, CHECKPOINT_FILES.tokenizer].filter((f) =>
    f === CHECKPOINT_FILES.weights ? !hasWeights(dir) : !fs.existsSync(path.join(dir, f)),
  );
  if (missing.length === 0) return null;
  const models = path.join(root, "models");
  const shipped = fs.existsSync(models)
    ? fs.readdirSync(models).filter((d) => fs.existsSync(path.join(models, d, CHECKPOINT_FILES.weights)))
    : [];
  return `backbone '${name}': ${dir} lacks ${missing.join(", ")} (shipped: ${shipped.length > 0 ? shipped.join(", ") : "none"})`;
}

/** Where a grid file sets option `key` for `cell`: "methodOptions.M.key", "options.key" or "fixed.key". */
export function gridOptionSource(spec: GridSpec, cell: Cell, key: string): string | null {
  if (spec.methodOptions?.[cell.method]?.[key] !== undefined) return `methodOptions.${cell.method}.${key}`;
  if (spec.options?.[key] !== undefined) return `options.${key}`;
  if (spec.fixed?.[key] !== undefined) return `fixed.${key}`;
  return null;
}
