/**
 * The result of one experiment run: one JSON object per line of results.jsonl.
 *
 * A run function (runCell) builds a RunRecord for its cell, typically
 *   { ...cellFields(cell), backbone: { name: cell.backbone, fingerprint }, prompt, steps, metrics, ...,
 *     ...runEnvironment() }
 * and the runner validates it with `validateRecord` before appending it. Every field is required
 * (`prompt` and `devMetrics` may be null); extra fields are allowed and kept.
 *
 * Units: bytes are bytes, times are seconds unless the name says ms, timestamps are ISO 8601 UTC
 * strings (new Date().toISOString()). Metrics are on the test split (see lib/eval/metrics.ts for
 * the definitions); `devMetrics` are those of the checkpoint selected on the dev split.
 */
import type { ClassificationMetrics } from "../eval/metrics";
import type { TruncationCount } from "../tasks/prepared-task";
import { readJsonl } from "../io/jsonl";
import { isFiniteNumber, isPlainObject } from "../io/validate";
import { isCellId } from "./cell-id";
import type { Cell } from "./grid";

/** Soft-prompt shape of a prompt-tuning run. */
export interface PromptInfo {
  /** Number of prompt vectors (>= 1). */
  length: number;
  /** How they were initialised, e.g. "random", "vocab", "text:Classify the sentiment". */
  init: string;
  /** Where they sit in the input, e.g. "prefix". */
  position: string;
}

/** One point of the learning curve. */
export interface CurvePoint {
  /** 0-based optimizer step (after this many updates). */
  step: number;
  /** training loss at this step (nats/token or per-example, as the trainer reports it). */
  trainLoss: number;
  /** dev accuracy, when evaluated at this step. */
  devAccuracy?: number;
}

export interface RunRecord {
  /** cellId of the grid cell (16 hex chars). */
  cellId: string;
  task: string;
  method: string;
  /** name: the grid's backbone name; fingerprint: backbone weights hash (lib/backbone/fingerprint.ts). */
  backbone: { name: string; fingerprint: string };
  seed: number;
  /** null for methods without a soft prompt (e.g. full fine-tuning). */
  prompt: PromptInfo | null;
  /** optimizer steps taken. */
  steps: number;
  /** test-split metrics. */
  metrics: ClassificationMetrics;
  /** dev-split metrics of the selected checkpoint; null when the run had no dev evaluation. */
  devMetrics: ClassificationMetrics | null;
  curve: CurvePoint[];
  /** number of trained scalars. */
  trainableParams: number;
  /** bytes needed to store what is specific to this task (prompt, or the whole tuned model). */
  taskBytes: number;
  /** peak bytes held by tensors during the run. */
  peakTensorBytes: number;
  /** wall-clock duration of the whole run, seconds. */
  wallSeconds: number;
  /** mean milliseconds per optimizer step (0 when steps is 0). */
  msPerStep: number;
  /** training throughput, tokens per second (0 when steps is 0). */
  tokensPerSecond: number;
  /** tfjs backend, and the kit's kernel set on it (e.g. "native (libopenblas.so.0, 1 thread)"; absent in old records). */
  backend: { name: string; version: string; kernels?: string };
  versions: { kit: string; tfjs: string; node: string };
  /** the cell's full config ({ backbone, task, method, seed, ...options }); cellId hashes it. */
  config: Record<string, unknown>;
  startedAt: string;
  finishedAt: string;
  /** two-stage prompt tuning: the first stage (the rest of the record describes stage 2 on the cell's task). */
  stage1?: { task: string; steps: number; devAccuracy: number; msPerStep: number };
  /** examples the task's template cut to its maxFieldTokens, per split (absent in old records). */
  truncation?: TruncationCount;
  /** gold labels of the test examples this run evaluated, counted per label name (for the class-balance note). */
  testLabels?: Record<string, number>;
  /** present when the record was copied from another results file instead of run again (see reuse.ts). */
  reusedFrom?: ReusedFrom;
}

/** Where a reused record came from. */
export interface ReusedFrom {
  /** results file the record was copied from (relative to the project root when inside it, else absolute). */
  readonly file: string;
  /** its cellId in that file. */
  readonly cellId: string;
}

/** The fields of a record that come straight from its cell. */
export function cellFields(cell: Cell): Pick<RunRecord, "cellId" | "task" | "method" | "seed" | "config"> {
  return { cellId: cell.cellId, task: cell.task, method: cell.method, seed: cell.seed, config: { ...cell.config } };
}

/**
 * Every problem with `obj` as a RunRecord, each naming the field, what was expected and what was
 * found; [] for a valid record. Long (one check per field, in the order of RunRecord) on purpose: it reads as
 * the record's schema, and splitting it would scatter that schema over several functions.
 */
export function recordProblems(obj: unknown): string[] {
  const p: string[] = [];
  if (!isPlainObject(obj)) return [`expected a JSON object, got ${describe(obj)}`];
  const r = obj as Record<string, unknown>;
  const need = (field: string, ok: (v: unknown) => boolean, expected: string, v: unknown = get(r, field)): void => {
    if (v === undefined) p.push(`${field}: missing (expected ${expected})`);
    else if (!ok(v)) p.push(`${field}: expected ${expected}, got ${describe(v)}`);
  };
  need("cellId", isCellId, "a 16-char lowercase hex cell id");
  need("task", isNonEmptyString, "a non-empty string");
  need("method", isNonEmptyString, "a non-empty string");
  need("backbone", isPlainObject, "an object { name, fingerprint }");
  if (isPlainObject(r.backbone)) {
    need("backbone.name", isNonEmptyString, "a non-empty string");
    need("backbone.fingerprint", isNonEmptyString, "a non-empty string");
  }
  need("seed", isInt, "an integer");
  need("prompt", (v) => v === null || isPlainObject(v), "null or an object { length, init, position }");
  if (isPlainObject(r.prompt)) {
    need("prompt.length", (v) => isInt(v) && (v as number) >= 1, "an integer >= 1");
    need("prompt.init", isNonEmptyString, "a non-empty string");
    need("prompt.position", isNonEmptyString, "a non-empty string");
  }
  need("steps", isNonNegInt, "a non-negative integer");
  metricsProblems(p, r, "metrics", false);
  metricsProblems(p, r, "devMetrics", true);
  need("curve", Array.isArray, "an array of { step, trainLoss, devAccuracy? }");
  if (Array.isArray(r.curve)) {
    r.curve.forEach((pt, i) => {
      const f = `curve[${i}]`;
      if (!isPlainObject(pt)) {
        p.push(`${f}: expected an object { step, trainLoss, devAccuracy? }, got ${describe(pt)}`);
        return;
      }
      const q = pt as Record<string, unknown>;
      need(`${f}.step`, isNonNegInt, "a non-negative integer", q.step);
      need(`${f}.trainLoss`, isFiniteNumber, "a finite number", q.trainLoss);
      if (q.devAccuracy !== undefined) need(`${f}.devAccuracy`, isUnit, "a number in [0, 1]", q.devAccuracy);
    });
  }
  need("trainableParams", isNonNegInt, "a non-negative integer");
  need("taskBytes", isNonNegInt, "a non-negative integer");
  need("peakTensorBytes", isNonNegInt, "a non-negative integer");
  need("wallSeconds", isNonNegNumber, "a finite number >= 0");
  need("msPerStep", isNonNegNumber, "a finite number >= 0");
  need("tokensPerSecond", isNonNegNumber, "a finite number >= 0");
  need("backend", isPlainObject, "an object { name, version }");
  if (isPlainObject(r.backend)) {
    need("backend.name", isNonEmptyString, "a non-empty string");
    need("backend.version", isNonEmptyString, "a non-empty string");
    if ((r.backend as Record<string, unknown>)["kernels"] !== undefined)
      need("backend.kernels", isNonEmptyString, "a non-empty string");
  }
  need("versions", isPlainObject, "an object { kit, tfjs, node }");
  if (isPlainObject(r.versions)) {
    for (const k of ["kit", "tfjs", "node"]) need(`versions.${k}`, isNonEmptyString, "a non-empty string");
  }
  need("config", isPlainObject, "the cell's config object");
  if (isPlainObject(r.config)) {
    const c = r.config as Record<string, unknown>;
    for (const k of ["task", "method", "seed"] as const) {
      if (c[k] !== undefined && r[k] !== undefined && c[k] !== r[k]) {
        p.push(`config.${k}: ${describe(c[k])} disagrees with ${k} ${describe(r[k])}`);
      }
    }
    if (
      c.backbone !== undefined &&
      isPlainObject(r.backbone) &&
      c.backbone !== (r.backbone as Record<string, unknown>).name
    ) {
      p.push(
        `config.backbone: ${describe(c.backbone)} disagrees with backbone.name ${describe((r.backbone as Record<string, unknown>).name)}`,
      );
    }
  }
  if (r.stage1 !== undefined) {
    need("stage1", isPlainObject, "an object { task, steps, devAccuracy, msPerStep }");
    if (isPlainObject(r.stage1)) {
      need("stage1.task", isNonEmptyString, "a non-empty string");
      need("stage1.steps", isNonNegInt, "a non-negative integer");
      need("stage1.devAccuracy", isUnit, "a number in [0, 1]");
      need("stage1.msPerStep", isNonNegNumber, "a finite number >= 0");
    }
  }
  if (r.reusedFrom !== undefined) {
    need("reusedFrom", isPlainObject, "an object { file, cellId }");
    if (isPlainObject(r.reusedFrom)) {
      need("reusedFrom.file", isNonEmptyString, "a non-empty string");
      need("reusedFrom.cellId", isCellId, "a 16-char lowercase hex cell id");
    }
  }
  need("startedAt", isIsoTime, "an ISO 8601 timestamp string");
  need("finishedAt", isIsoTime, "an ISO 8601 timestamp string");
  if (
    isIsoTime(r.startedAt) &&
    isIsoTime(r.finishedAt) &&
    Date.parse(r.finishedAt as string) < Date.parse(r.startedAt as string)
  ) {
    p.push(`finishedAt: ${r.finishedAt} is before startedAt ${r.startedAt}`);
  }
  return p;
}

/**
 * Returns `obj` typed as a RunRecord, or throws one Error listing every problem, each prefixed by
 * `where` (e.g. "results.jsonl:12" or "runCell(3f2a...)").
 */
export function validateRecord(obj: unknown, where: string): RunRecord {
  const problems = recordProblems(obj);
  if (problems.length > 0) {
    throw new Error(
      `${where}: invalid run record (${problems.length} problem${problems.length > 1 ? "s" : ""}):\n  ${problems.join("\n  ")}`,
    );
  }
  return obj as RunRecord;
}

/**
 * All records of a results file, each validated (an invalid one throws naming "file:line" and the
 * field). A torn final line (interrupted append) is skipped with a warning; a missing file is an
 * error unless `allowMissing`.
 */
export function readRecords(
  filePath: string,
  options: { allowMissing?: boolean; onWarning?: (m: string) => void } = {},
): RunRecord[] {
  return readJsonl<unknown>(filePath, {
    onBadLine: "throw",
    allowMissing: options.allowMissing,
    onWarning: options.onWarning,
  }).map(({ line, record }) => validateRecord(record, `${filePath}:${line}`));
}

/** The first record of each of `cells`, in cell order (cells without a record are left out). */
export function recordsOf(records: readonly RunRecord[], cells: readonly Cell[]): RunRecord[] {
  const byId = new Map<string, RunRecord>();
  for (const r of records) if (!byId.has(r.cellId)) byId.set(r.cellId, r);
  return cells.map((c) => byId.get(c.cellId)).filter((r): r is RunRecord => r !== undefined);
}

function metricsProblems(p: string[], r: Record<string, unknown>, field: string, nullable: boolean): void {
  const v = r[field];
  const expected = `${nullable ? "null or " : ""}an object { accuracy, macroF1, mcc }`;
  if (v === undefined) {
    p.push(`${field}: missing (expected ${expected})`);
    return;
  }
  if (nullable && v === null) return;
  if (!isPlainObject(v)) {
    p.push(`${field}: expected ${expected}, got ${describe(v)}`);
    return;
  }
  const m = v as Record<string, unknown>;
  for (const k of ["accuracy", "macroF1"]) {
    if (m[k] === undefined) p.push(`${field}.${k}: missing (expected a number in [0, 1])`);
    else if (!isUnit(m[k])) p.push(`${field}.${k}: expected a number in [0, 1], got ${describe(m[k])}`);
  }
  if (m.mcc === undefined) p.push(`${field}.mcc: missing (expected a number in [-1, 1])`);
  else if (!(isFiniteNumber(m.mcc) && (m.mcc as number) >= -1 && (m.mcc as number) <= 1)) {
    p.push(`${field}.mcc: expected a number in [-1, 1], got ${describe(m.mcc)}`);
  }
}

function get(obj: Record<string, unknown>, dotted: string): unknown {
  let v: unknown = obj;
  for (const part of dotted.split(".")) {
    if (!isPlainObject(v)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

function isNonEmptyString(v: unknown): boolean {
  return typeof v === "string" && v.trim() !== "";
}
function isNonNegNumber(v: unknown): boolean {
  return isFiniteNumber(v) && (v as number) >= 0;
}
function isInt(v: unknown): boolean {
  return typeof v === "number" && Number.isSafeInteger(v);
}
function isNonNegInt(v: unknown): boolean {
  return isInt(v) && (v as number) >= 0;
}
function isUnit(v: unknown): boolean {
  return isFiniteNumber(v) && (v as number) >= 0 && (v as number) <= 1;
}
function isIsoTime(v: unknown): boolean {
  return (
    typeof v === "string" &&
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(v) &&
    !Number.isNaN(Date.parse(v))
  );
}

function describe(v: unknown): string {
  if (v === undefined) return "undefined";
  if (v === null) return "null";
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v);
  if (typeof v === "object") return "an object";
  return `${String(v)} (${typeof v})`;
}
