/**
 * An experiment grid written as data, expanded into cells (one training run each).
 *
 *   const cells = expandGrid({
 *     name: "pt-vs-ft",
 *     backbones: ["tiny-6L"], tasks: ["sst2", "spam"], methods: ["prompt", "finetune"],
 *     seeds: [0, 1, 2],
 *     methodOptions: { prompt: { promptLength: [1, 5, 20] } },
 *     fixed: { steps: 500 },
 *   });
 *
 * Cells are the cartesian product, in a deterministic order: backbone, task, method, option axes
 * (sorted by key name; each axis in the order its values are listed), seed innermost. A cell's
 * `config` is the flat object { backbone, task, method, seed, ...fixed, ...axis values }; its
 * `cellId` hashes that config (see cell-id.ts), so ids do not depend on key order, on the grid's
 * name, or on the cell's position, and a results file stays valid when axes are extended.
 *
 * `options` axes apply to every method; `methodOptions[m]` axes only to method m (e.g. prompt
 * length means nothing for full fine-tuning, which would otherwise run once per prompt length).
 *
 * Tasks: a `tasks` entry (and `fixed.stage1Task`) is a built-in name or a file task object (lib/tasks/file-task.ts,
 * `file` relative to `baseDir`, the grid file's folder). File tasks are bound (file read and hashed) here: the
 * cell's `task` is the task's identity key ("party@3f2a9c01b7de", content hash included, so changed data gives
 * new cell ids; built-in names stay as they are), and `cell.tasks` carries what a worker needs to load it (the
 * ref with an absolute path, and the identity to hold the file to) outside the hashed config.
 */
import { describe, isPlainObject } from "../io/validate";
import { bindTask, bindTasks, type TaskBinding } from "../tasks/file-task";
import { canonicalJson, cellIdOf } from "./cell-id";

export interface GridSpec {
  /** Label for logs and output files; not part of any cell id. */
  name: string;
  methods: string[];
  /** Built-in task names or file task objects ({ name, file, textColumn, labelColumn, ... }). */
  tasks: unknown[];
  backbones: string[];
  /** Integer seeds (0 is a real seed). */
  seeds: number[];
  /** Extra axes applied to every method, e.g. { lr: [1e-3, 3e-3] }. Values: any JSON. */
  options?: Record<string, unknown[]>;
  /** Extra axes applied to one method only, keyed by method name. */
  methodOptions?: Record<string, Record<string, unknown[]>>;
  /** Values shared by every cell, e.g. { steps: 500, batchSize: 16 }. */
  fixed?: Record<string, unknown>;
}

/** One run of the grid. */
export interface Cell {
  /** sha256(canonicalJson(config)), 16 hex chars. */
  readonly cellId: string;
  readonly backbone: string;
  readonly task: string;
  readonly method: string;
  readonly seed: number;
  /** fixed values and this cell's option-axis values. */
  readonly options: Readonly<Record<string, unknown>>;
  /** { backbone, task, method, seed, ...options }: everything that defines the run; hashed into cellId. */
  readonly config: Readonly<Record<string, unknown>>;
  /**
   * File tasks the cell uses (its task, and stage1Task), by identity key: how to load each one. Not hashed (moving
   * a file changes nothing). Absent when the cell uses built-in tasks only.
   */
  readonly tasks?: Readonly<Record<string, TaskBinding>>;
}

export interface ExpandGridOptions {
  /** Folder that file tasks' `file` paths are relative to (the grid file's folder); default: the current directory. */
  readonly baseDir?: string;
}

/** Keys of a cell config that option/fixed keys may not reuse. */
export const RESERVED_CONFIG_KEYS: readonly string[] = Object.freeze(["backbone", "task", "method", "seed", "cellId"]);

/** Validates the grid and lists its cells in the documented order. Throws naming the bad field. */
export function expandGrid(spec: GridSpec, options: ExpandGridOptions = {}): Cell[] {
  const where = `grid ${typeof spec?.name === "string" ? JSON.stringify(spec.name) : "(unnamed)"}`;
  validateGrid(spec, where);
  const baseDir = options.baseDir ?? process.cwd();
  const fixed: Record<string, unknown> = { ...(spec.fixed ?? {}) };
  // Built-in names are checked per cell (check-cells.ts); file task objects are bound (read, hashed) here.
  const fileTasks = spec.tasks.some((t) => typeof t !== "string") ? bindTasks(spec.tasks, baseDir, "tasks") : null;
  const taskKeys = spec.tasks.map((t, i) => (fileTasks ? fileTasks[i]!.identity.key : (t as string)));
  const bindings: Record<string, TaskBinding> = {};
  fileTasks?.forEach((b) => {
    if (b.identity.sha256 !== null) bindings[b.identity.key] = b;
  });
  if (isPlainObject(fixed.stage1Task)) {
    const b = bindTask(fixed.stage1Task, baseDir, "fixed.stage1Task");
    fixed.stage1Task = b.identity.key;
    bindings[b.identity.key] = b;
  }
  const cellTasks = (task: string): Record<string, TaskBinding> | undefined => {
    const used = [task, fixed.stage1Task].filter(
      (k): k is string => typeof k === "string" && bindings[k] !== undefined,
    );
    return used.length === 0 ? undefined : Object.fromEntries(used.map((k) => [k, bindings[k]!]));
  };
  const cells: Cell[] = [];
  for (const backbone of spec.backbones) {
    for (const task of taskKeys) {
      for (const method of spec.methods) {
        const axes = axesFor(spec, method);
        for (const combo of product(axes)) {
          for (const seed of spec.seeds) {
            cells.push(
              makeCell({ backbone, task, method, seed, options: { ...fixed, ...combo }, tasks: cellTasks(task) }),
            );
          }
        }
      }
    }
  }
  const seen = new Map<string, number>();
  cells.forEach((c, i) => {
    const prev = seen.get(c.cellId);
    if (prev !== undefined) {
      throw new Error(
        `${where}: cells ${prev} and ${i} have the same config ${canonicalJson(c.config)} (cellId ${c.cellId})`,
      );
    }
    seen.set(c.cellId, i);
  });
  return cells;
}

/** Builds one cell (also useful for ad-hoc single runs outside a grid). */
export function makeCell(parts: {
  backbone: string;
  task: string;
  method: string;
  seed: number;
  options?: Record<string, unknown>;
  tasks?: Readonly<Record<string, TaskBinding>>;
}): Cell {
  const options = parts.options ?? {};
  for (const k of Object.keys(options)) {
    if (RESERVED_CONFIG_KEYS.includes(k))
      throw new Error(`cell options: key "${k}" is reserved (it is a cell field), rename it`);
  }
  if (!Number.isInteger(parts.seed)) throw new Error(`cell: seed must be an integer, got ${parts.seed}`);
  const config = { backbone: parts.backbone, task: parts.task, method: parts.method, seed: parts.seed, ...options };
  canonicalJson(config, "cell config"); // rejects values JSON cannot hold, naming the path
  return Object.freeze({
    cellId: cellIdOf(config),
    backbone: parts.backbone,
    task: parts.task,
    method: parts.method,
    seed: parts.seed,
    options: Object.freeze({ ...options }),
    config: Object.freeze(config),
    ...(parts.tasks ? { tasks: Object.freeze({ ...parts.tasks }) } : {}),
  });
}

/** Throws an Error naming the grid and the bad field on the first problem found. */
export function validateGrid(spec: GridSpec, where = "grid"): void {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec))
    throw new Error(`${where}: expected a grid object, got ${describe(spec)}`);
  const known = new Set(["name", "methods", "tasks", "backbones", "seeds", "options", "methodOptions", "fixed"]);
  for (const k of Object.keys(spec)) {
    if (!known.has(k)) throw new Error(`${where}: unknown field "${k}" (expected one of ${[...known].join(", ")})`);
  }
  if (typeof spec.name !== "string" || spec.name.trim() === "")
    throw new Error(`${where}: name must be a non-empty string, got ${describe(spec.name)}`);
  for (const axis of ["backbones", "tasks", "methods"] as const) {
    checkAxis(where, axis, spec[axis]);
    spec[axis].forEach((v, i) => {
      if (axis === "tasks" && isPlainObject(v)) return; // a file task object: bound (and checked) by expandGrid
      const what =
        axis === "tasks"
          ? "a task name or a file task object { name, file, textColumn, labelColumn, ... }"
          : "a non-empty string";
      if (typeof v !== "string" || v.trim() === "")
        throw new Error(`${where}: ${axis}[${i}] must be ${what}, got ${describe(v)}`);
    });
  }
  checkAxis(where, "seeds", spec.seeds);
  spec.seeds.forEach((s, i) => {
    if (typeof s !== "number" || !Number.isSafeInteger(s))
      throw new Error(`${where}: seeds[${i}] must be an integer, got ${describe(s)}`);
  });
  const fixedKeys = checkRecord(where, "fixed", spec.fixed);
  for (const k of fixedKeys) {
    checkKey(where, `fixed.${k}`, k);
    canonicalJson(spec.fixed![k], `${where}: fixed.${k}`);
  }
  const optionKeys = checkRecord(where, "options", spec.options);
  for (const k of optionKeys) {
    checkKey(where, `options.${k}`, k);
    if (fixedKeys.includes(k)) throw new Error(`${where}: "${k}" is both a fixed value and an options axis; keep one`);
    checkAxis(where, `options.${k}`, spec.options![k]);
  }
  const methodKeys = checkRecord(where, "methodOptions", spec.methodOptions);
  for (const m of methodKeys) {
    if (!spec.methods.includes(m)) {
      throw new Error(`${where}: methodOptions.${m}: "${m}" is not one of methods [${spec.methods.join(", ")}]`);
    }
    const axes = checkRecord(where, `methodOptions.${m}`, spec.methodOptions![m]);
    for (const k of axes) {
      checkKey(where, `methodOptions.${m}.${k}`, k);
      if (fixedKeys.includes(k))
        throw new Error(`${where}: "${k}" is both a fixed value and methodOptions.${m} axis; keep one`);
      if (optionKeys.includes(k))
        throw new Error(`${where}: "${k}" is both an options axis and a methodOptions.${m} axis; keep one`);
      checkAxis(where, `methodOptions.${m}.${k}`, spec.methodOptions![m]![k]);
    }
  }
}

/** The option axes that apply to `method`, sorted by key. */
function axesFor(spec: GridSpec, method: string): [string, unknown[]][] {
  const axes: Record<string, unknown[]> = { ...(spec.options ?? {}), ...(spec.methodOptions?.[method] ?? {}) };
  return Object.keys(axes)
    .sort()
    .map((k) => [k, axes[k]!]);
}

/** Cartesian product of axes, first axis outermost; one empty combination when there are no axes. */
function product(axes: [string, unknown[]][]): Record<string, unknown>[] {
  let out: Record<string, unknown>[] = [{}];
  for (const [key, values] of axes) {
    const next: Record<string, unknown>[] = [];
    for (const partial of out) for (const v of values) next.push({ ...partial, [key]: v });
    out = next;
  }
  return out;
}

function checkAxis(where: string, field: string, values: unknown): asserts values is unknown[] {
  if (!Array.isArray(values)) throw new Error(`${where}: ${field} must be an array, got ${describe(values)}`);
  if (values.length === 0) throw new Error(`${where}: ${field} is empty; every axis needs at least one value`);
  const seen = new Map<string, number>();
  values.forEach((v, i) => {
    const key = canonicalJson(v, `${where}: ${field}[${i}]`);
    const prev = seen.get(key);
    if (prev !== undefined)
      throw new Error(`${where}: ${field} has a duplicate value ${key} at indices ${prev} and ${i}`);
    seen.set(key, i);
  });
}

function checkRecord(where: string, field: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`${where}: ${field} must be an object, got ${describe(value)}`);
  }
  return Object.keys(value);
}

function checkKey(where: string, field: string, key: string): void {
  if (RESERVED_CONFIG_KEYS.includes(key)) {
    throw new Error(
      `${where}: ${field}: key "${key}" is reserved (cells already have ${RESERVED_CONFIG_KEYS.join(", ")}); use the grid's own axis or rename it`,
    );
  }
}
