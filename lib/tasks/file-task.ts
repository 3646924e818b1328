/**
 * A user's task written as data (a grid's `tasks` entry, `stage1Task`, a bench `--task` file, a notebook call):
 *
 *   { "name": "party", "file": "data/speeches.csv", "textColumn": "speech_text", "textBColumn": null,
 *     "labelColumn": "party", "template": "<front>{text} This speech is<back>",
 *     "verbalizer": { "democratic": [" left"], "republican": [" right"] },
 *     "split": { "devFraction": 0.1, "testFraction": 0.2 } }
 *
 * Required: name, file, textColumn, labelColumn. Optional, with defaults:
 *   textBColumn  null (single-text task)
 *   template     "<front>{text} Label:<back>" ("<front>{text}<middle> / {textB} Label:<back>" for pairs), fields cut
 *                at 64 tokens; a string is a pattern, an object { pattern, maxFieldTokens, truncate } also sets
 *                the truncation policy (see template.ts)
 *   verbalizer   null: each label's own name is its label word (" " + label; multi-token names work)
 *   split        { devFraction: 0.1, testFraction: 0.2, stratify: true } (the split seed is the cell's dataSeed)
 *   labels       null: the labels found in the file, sorted; a list fixes the allowed labels and their order
 *   encoding     "utf-8" (strict; e.g. "latin1" or "windows-1252" for older files)
 *   format       from the extension (.csv, .tsv/.tab, .jsonl/.ndjson)
 * `file` is relative to the directory the caller names (the grid file's folder, or the current directory).
 *
 * Identity: a file task is identified by its content, not its path: `taskIdentity` hashes the file's bytes
 * (SHA-256) together with every option above, so changing the data (or the template) gives new cell ids and old
 * records are never reused for it, while moving the file does not. A built-in task's identity is its name, so
 * cell ids of built-in tasks stay what they were.
 *
 * This file checks a spec's shape without reading the file (`parseTaskRef`); resolve-task.ts loads it.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, isPlainObject } from "../io/validate";
import { TASK_NAMES } from "./data/registry";
import { DEFAULT_SPLIT_OPTIONS } from "./data/split";
import { TASK_FILE_FORMATS, type TaskFileFormat } from "./data/task-file";
import { defaultSpec } from "./task-specs";
import { parsePattern, TRUNCATE_SIDES, type TemplateSpec, type TruncateSide } from "./template";

/** A file task as the user writes it. */
export interface FileTaskSpec {
  readonly name: string;
  readonly file: string;
  readonly textColumn: string;
  readonly labelColumn: string;
  readonly textBColumn?: string | null;
  readonly template?:
    string | { readonly pattern: string; readonly maxFieldTokens?: number; readonly truncate?: TruncateSide } | null;
  readonly verbalizer?: Readonly<Record<string, string | readonly string[]>> | null;
  readonly split?: {
    readonly devFraction?: number;
    readonly testFraction?: number;
    readonly stratify?: boolean;
  } | null;
  readonly labels?: readonly string[] | null;
  readonly encoding?: string | null;
  readonly format?: TaskFileFormat | null;
}

/** A task as named anywhere a task is expected: a built-in task's name or a file task. */
export type TaskRef = string | FileTaskSpec;

/** A file task with every default filled in (what the identity hashes, besides the file's content). */
export interface NormalizedFileTask {
  readonly name: string;
  readonly file: string;
  readonly textColumn: string;
  readonly textBColumn: string | null;
  readonly labelColumn: string;
  readonly template: Required<TemplateSpec>;
  /** null: label names as label words. */
  readonly verbalizer: Readonly<Record<string, readonly string[]>> | null;
  readonly split: { readonly devFraction: number; readonly testFraction: number; readonly stratify: boolean };
  readonly labels: readonly string[] | null;
  readonly encoding: string;
  readonly format: TaskFileFormat | null;
}

export const FILE_TASK_KEYS = Object.freeze([
  "name",
  "file",
  "textColumn",
  "textBColumn",
  "labelColumn",
  "template",
  "verbalizer",
  "split",
  "labels",
  "encoding",
  "format",
] as const);

/** Default field length of a file task's template (tokens). */
export const FILE_TASK_MAX_FIELD_TOKENS = 64;

export const FILE_TASK_SPLIT_DEFAULTS = Object.freeze({
  devFraction: 0.1,
  testFraction: 0.2,
  stratify: DEFAULT_SPLIT_OPTIONS.stratify,
});

/** An error in a task reference: the message starts with where it was written. */
export class TaskSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TaskSpecError";
  }
}

export function isFileTaskSpec(value: unknown): value is FileTaskSpec {
  return isPlainObject(value) && typeof value.file === "string";
}

/**
 * Checks a task reference without reading any file: a built-in name, or a file task object whose fields have the
 * right types and values (template parsed, verbalizer well formed, split fractions in range). `where` names the
 * place in the user's words, e.g. `grid.json tasks[2]` or `--task`.
 */
export function parseTaskRef(value: unknown, where = "task"): TaskRef {
  if (typeof value === "string") {
    if ((TASK_NAMES as readonly string[]).includes(value)) return value;
    const looksLikeFile = /\.(csv|tsv|tab|jsonl|ndjson)$/i.test(value);
    throw new TaskSpecError(
      `${where}: unknown task ${JSON.stringify(value)}: expected one of ${TASK_NAMES.join(", ")} or a file task object ` +
        `{ "name", "file", "textColumn", "labelColumn", ... }` +
        (looksLikeFile
          ? ` (a file needs its columns named: { "name": "mytask", "file": ${JSON.stringify(value)}, "textColumn": "...", "labelColumn": "..." })`
          : ""),
    );
  }
  normalizeFileTask(value, where);
  return value as FileTaskSpec;
}

/** Fills a file task's defaults and validates every field (no file access). Throws TaskSpecError naming the field.
 * Long on purpose: one check per field of the spec, in the order a user writes them, so it reads as the spec's schema (as recordProblems does for records).
 */
export function normalizeFileTask(value: unknown, where = "task"): NormalizedFileTask {
  const bad = (field: string, expected: string, got: unknown): never => {
    throw new TaskSpecError(`${where}${field ? `.${field}` : ""} must be ${expected}, got ${describe(got)}`);
  };
  if (!isPlainObject(value)) bad("", `a built-in task name (${TASK_NAMES.join(", ")}) or a file task object`, value);
  const v = value as Record<string, unknown>;
  for (const k of Object.keys(v)) {
    if (!(FILE_TASK_KEYS as readonly string[]).includes(k)) {
      throw new TaskSpecError(`${where}: unknown file task field "${k}" (known: ${FILE_TASK_KEYS.join(", ")})`);
    }
  }
  const str = (field: string): string => {
    const x = v[field];
    if (typeof x !== "string" || x.trim() === "") bad(field, "a non-empty string", x);
    return x as string;
  };
  const optStr = (field: string): string | null => (v[field] === undefined || v[field] === null ? null : str(field));
  const name = str("name");
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
    bad("name", "a name of letters, digits, '.', '_' or '-' (it appears in file names and tables)", name);
  if ((TASK_NAMES as readonly string[]).includes(name)) {
    throw new TaskSpecError(
      `${where}.name: "${name}" is the name of a built-in task; give your task another name so results cannot be confused`,
    );
  }
  const file = str("file");
  const textColumn = str("textColumn");
  const labelColumn = str("labelColumn");
  const textBColumn = optStr("textBColumn");
  if (labelColumn === textColumn || labelColumn === textBColumn)
    bad("labelColumn", "a column other than the text column(s)", labelColumn);
  if (textBColumn !== null && textBColumn === textColumn)
    bad("textBColumn", "a column other than textColumn", textBColumn);

  // template
  const pair = textBColumn !== null;
  let template: Required<TemplateSpec>;
  const t = v.template;
  const base = defaultSpec([], pair).template;
  if (t === undefined || t === null)
    template = { pattern: base.pattern, maxFieldTokens: FILE_TASK_MAX_FIELD_TOKENS, truncate: "end" };
  else if (typeof t === "string")
    template = { pattern: t, maxFieldTokens: FILE_TASK_MAX_FIELD_TOKENS, truncate: "end" };
  else if (isPlainObject(t)) {
    for (const k of Object.keys(t)) {
      if (!["pattern", "maxFieldTokens", "truncate"].includes(k))
        throw new TaskSpecError(`${where}.template: unknown field "${k}" (known: pattern, maxFieldTokens, truncate)`);
    }
    if (typeof t.pattern !== "string")
      bad("template.pattern", 'a string pattern such as "<front>{text} It was<back>"', t.pattern);
    const m = t.maxFieldTokens ?? FILE_TASK_MAX_FIELD_TOKENS;
    if (typeof m !== "number" || !Number.isSafeInteger(m) || m < 1)
      bad("template.maxFieldTokens", "a positive integer", m);
    const side = t.truncate ?? "end";
    if (typeof side !== "string" || !(TRUNCATE_SIDES as readonly string[]).includes(side))
      bad("template.truncate", `one of ${TRUNCATE_SIDES.join(", ")}`, side);
    template = { pattern: t.pattern as string, maxFieldTokens: m as number, truncate: side as TruncateSide };
  } else {
    return bad("template", "a pattern string or an object { pattern, maxFieldTokens, truncate }", t);
  }
  try {
    parsePattern(template.pattern);
  } catch (err) {
    throw new TaskSpecError(`${where}.template: ${(err as Error).message}`);
  }
  const usesB = /\{textB\}/.test(template.pattern);
  if (usesB && !pair)
    throw new TaskSpecError(
      `${where}.template: the pattern uses {textB} but the task has no textBColumn; name the second text's column or drop {textB}`,
    );
  if (!usesB && pair)
    throw new TaskSpecError(
      `${where}.template: the task has textBColumn ${JSON.stringify(textBColumn)} but the pattern has no {textB}, so that column would be ignored`,
    );

  // verbalizer
  let verbalizer: Record<string, readonly string[]> | null = null;
  const vb = v.verbalizer;
  if (vb !== undefined && vb !== null) {
    if (!isPlainObject(vb) || Object.keys(vb).length === 0) {
      bad(
        "verbalizer",
        'an object mapping each label to its label word(s), e.g. { "democratic": [" left"], "republican": [" right"] }',
        vb,
      );
    }
    verbalizer = {};
    for (const [label, words] of Object.entries(vb as Record<string, unknown>)) {
      const list = typeof words === "string" ? [words] : words;
      if (!Array.isArray(list) || list.length === 0 || list.some((w) => typeof w !== "string" || w.trim() === "")) {
        bad(
          `verbalizer[${JSON.stringify(label)}]`,
          'a label word or a non-empty list of non-empty label words (with their leading space, e.g. " left")',
          words,
        );
      }
      verbalizer[label] = Object.freeze([...(list as string[])]);
    }
  }

  // split
  const sp = v.split ?? {};
  if (!isPlainObject(sp)) return bad("split", "an object { devFraction, testFraction, stratify }", sp);
  for (const k of Object.keys(sp)) {
    if (!["devFraction", "testFraction", "stratify"].includes(k)) {
      throw new TaskSpecError(
        `${where}.split: unknown field "${k}" (known: devFraction, testFraction, stratify${k === "seed" ? "; the split seed is the cell option dataSeed" : ""})`,
      );
    }
  }
  const frac = (k: "devFraction" | "testFraction"): number => {
    const x = sp[k] ?? FILE_TASK_SPLIT_DEFAULTS[k];
    if (typeof x !== "number" || !Number.isFinite(x) || x < 0 || x >= 1) bad(`split.${k}`, "a number in [0, 1)", x);
    return x as number;
  };
  const devFraction = frac("devFraction");
  const testFraction = frac("testFraction");
  if (devFraction + testFraction >= 1)
    bad("split", "fractions with devFraction + testFraction < 1 (something must be left for training)", sp);
  const stratify = sp.stratify ?? FILE_TASK_SPLIT_DEFAULTS.stratify;
  if (typeof stratify !== "boolean") bad("split.stratify", "true or false", stratify);

  // labels
  let labels: string[] | null = null;
  if (v.labels !== undefined && v.labels !== null) {
    const l = v.labels;
    if (
      !Array.isArray(l) ||
      l.length < 2 ||
      l.some((x) => typeof x !== "string" || x.trim() === "") ||
      new Set(l).size !== l.length
    ) {
      bad("labels", "a list of at least 2 distinct non-empty label strings", l);
    }
    labels = [...(l as string[])];
    if (verbalizer) checkVerbalizerLabels(verbalizer, labels, `${where}.verbalizer`, `${where}.labels`);
  }

  const encoding = optStr("encoding") ?? "utf-8";
  let decoderOk = true;
  try {
    new TextDecoder(encoding);
  } catch {
    decoderOk = false;
  }
  if (!decoderOk) bad("encoding", 'an encoding name such as "utf-8", "latin1", "windows-1252" or "utf-16le"', encoding);
  const format = v.format === undefined || v.format === null ? null : (v.format as TaskFileFormat);
  if (format !== null && !(TASK_FILE_FORMATS as readonly string[]).includes(format))
    bad("format", `one of ${TASK_FILE_FORMATS.join(", ")}`, format);

  return Object.freeze({
    name,
    file,
    textColumn,
    textBColumn,
    labelColumn,
    template: Object.freeze(template),
    verbalizer: verbalizer ? Object.freeze(verbalizer) : null,
    split: Object.freeze({ devFraction, testFraction, stratify: stratify as boolean }),
    labels: labels ? Object.freeze(labels) : null,
    encoding,
    format,
  });
}

/**
 * Every label has label words and every verbalizer key is a label; otherwise a TaskSpecError that lists the
 * missing / unknown labels and the labels there are (`labelsWhere` says where those come from).
 */
export function checkVerbalizerLabels(
  verbalizer: Readonly<Record<string, readonly string[]>>,
  labels: readonly string[],
  where: string,
  labelsWhere: string,
): void {
  const missing = labels.filter((l) => !Object.prototype.hasOwnProperty.call(verbalizer, l));
  const unknown = Object.keys(verbalizer).filter((k) => !labels.includes(k));
  const problems: string[] = [];
  if (missing.length > 0)
    problems.push(`misses label${missing.length > 1 ? "s" : ""} ${missing.map((l) => JSON.stringify(l)).join(", ")}`);
  if (unknown.length > 0)
    problems.push(
      `names unknown label${unknown.length > 1 ? "s" : ""} ${unknown.map((l) => JSON.stringify(l)).join(", ")}`,
    );
  if (problems.length > 0) {
    throw new TaskSpecError(
      `${where} ${problems.join(" and ")}; the labels in ${labelsWhere} are [${labels.map((l) => JSON.stringify(l)).join(", ")}] ` +
        `(give label words for exactly these, or leave verbalizer out to use the label names)`,
    );
  }
}

/** The absolute path of a file task's file: `file` as written, relative to `baseDir`. */
export function taskFilePath(spec: Pick<FileTaskSpec, "file">, baseDir: string): string {
  return path.resolve(baseDir, spec.file);
}

/** What identifies a task in a cell id and a record. */
export interface TaskIdentity {
  /** The task's name, for tables and messages ("imdb", "party"). */
  readonly name: string;
  /**
   * A short string unique to the task's identity: the name for a built-in task; for a file task
   * "name@" + the first 12 hex chars of sha256(canonical config), e.g. "party@3f2a9c01b7de".
   */
  readonly key: string;
  /**
   * The JSON value to put in a cell's config (it is hashed into the cell id): the name for a built-in task, so
   * existing cell ids do not change; for a file task the normalized spec without the path, plus the file's
   * content hash { name, sha256, textColumn, ..., split }.
   */
  readonly config: string | Readonly<Record<string, unknown>>;
  /** sha256 (hex) of the file's bytes; null for a built-in task. */
  readonly sha256: string | null;
  /** Absolute path of the file that was hashed; null for a built-in task. */
  readonly file: string | null;
}

/** sha256 hex of bytes. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The identity of a file task whose file holds `bytes` (no file access). */
export function fileTaskIdentity(spec: NormalizedFileTask, bytes: Uint8Array, absFile: string): TaskIdentity {
  const sha256 = sha256Hex(bytes);
  const { file: _file, ...rest } = spec;
  const config: Record<string, unknown> = { ...rest, template: { ...rest.template }, split: { ...rest.split }, sha256 };
  if (rest.verbalizer)
    config.verbalizer = Object.fromEntries(Object.entries(rest.verbalizer).map(([k, w]) => [k, [...w]]));
  if (rest.labels) config.labels = [...rest.labels];
  const key = `${spec.name}@${sha256Hex(canonical(config)).slice(0, 12)}`;
  return Object.freeze({ name: spec.name, key, config: Object.freeze(config), sha256, file: absFile });
}

/**
 * The identity of a task reference (reads and hashes a file task's file; nothing else). Cheap enough to call
 * for every task of a grid before any cell runs. Throws TaskSpecError for a bad spec or an unreadable file.
 */
export function taskIdentity(ref: unknown, baseDir: string, where = "task"): TaskIdentity {
  const parsed = parseTaskRef(ref, where);
  if (typeof parsed === "string")
    return Object.freeze({ name: parsed, key: parsed, config: parsed, sha256: null, file: null });
  const spec = normalizeFileTask(parsed, where);
  const abs = taskFilePath(spec, baseDir);
  return fileTaskIdentity(spec, readTaskFileBytes(abs, spec, baseDir, where), abs);
}

/** The file's bytes, or a TaskSpecError that says where the relative path was looked for. */
export function readTaskFileBytes(
  abs: string,
  spec: Pick<FileTaskSpec, "file" | "name">,
  baseDir: string,
  where: string,
): Buffer {
  try {
    return fs.readFileSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const rel = path.isAbsolute(spec.file)
      ? ""
      : ` (${JSON.stringify(spec.file)} is taken relative to ${path.resolve(baseDir)})`;
    if (code === "ENOENT") throw new TaskSpecError(`${where}.file: task "${spec.name}": no such file ${abs}${rel}`);
    if (code === "EISDIR")
      throw new TaskSpecError(
        `${where}.file: task "${spec.name}": ${abs} is a directory, expected a .csv, .tsv or .jsonl file`,
      );
    throw new TaskSpecError(`${where}.file: task "${spec.name}": cannot read ${abs}: ${(err as Error).message}`);
  }
}

/** JSON with sorted keys (for hashing plain data). */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (isPlainObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v ?? null);
}

/**
 * A task as a grid cell carries it: `identity` (what the cell id hashes: `identity.key` / `identity.config`) and
 * `ref`, what a worker process needs to load it: the built-in name, or the file task with `file` made absolute
 * (so it loads from any working directory). `ref` is not part of the identity: moving the file changes nothing.
 */
export interface TaskBinding {
  readonly ref: TaskRef;
  readonly identity: TaskIdentity;
}

/** Checks a task reference, hashes its file and returns its binding (see TaskBinding). */
export function bindTask(ref: unknown, baseDir: string, where = "task"): TaskBinding {
  const identity = taskIdentity(ref, baseDir, where);
  if (typeof ref === "string") return Object.freeze({ ref, identity });
  const spec = ref as FileTaskSpec;
  return Object.freeze({ ref: Object.freeze({ ...spec, file: identity.file! }), identity });
}

/**
 * Binds every task of a list (a grid's `tasks`), before anything runs. Refuses the same task twice, and two
 * different tasks under one name (tables and summaries show tasks by name). `where` names the list, e.g.
 * "grid.json tasks"; each entry is reported as `${where}[i]`.
 */
export function bindTasks(refs: readonly unknown[], baseDir: string, where = "tasks"): TaskBinding[] {
  if (!Array.isArray(refs) || refs.length === 0)
    throw new TaskSpecError(
      `${where} must be a non-empty list of task names or file task objects, got ${describe(refs)}`,
    );
  const out: TaskBinding[] = [];
  const byName = new Map<string, { i: number; key: string }>();
  refs.forEach((r, i) => {
    const b = bindTask(r, baseDir, `${where}[${i}]`);
    const prev = byName.get(b.identity.name);
    if (prev) {
      throw new TaskSpecError(
        prev.key === b.identity.key
          ? `${where}[${i}] is the same task as ${where}[${prev.i}] ("${b.identity.name}"); list it once`
          : `${where}[${i}] and ${where}[${prev.i}] are different tasks both named "${b.identity.name}" (${prev.key} vs ${b.identity.key}); give them different names`,
      );
    }
    byName.set(b.identity.name, { i, key: b.identity.key });
    out.push(b);
  });
  return out;
}
