/**
 * User classification tasks from a .csv or .jsonl (JSON Lines, also .ndjson) file.
 *
 * CSV is read with danfojs-node's readCSV (papaparse underneath) with dynamicTyping OFF, so every
 * cell arrives as the exact string in the file: danfojs's default typing would turn "1.50" into
 * 1.5, "007" into 7 and a text that happens to be numeric into a number. (danfojs still reports
 * dtypes such as int32 for a 0/1 column; they are ignored.) Numeric labels therefore come out as
 * the strings "0"/"1". A light quote-aware scan (csv-records.ts) supplies line numbers and catches
 * malformed records first, because danfojs reports neither.
 *
 * JSON Lines: one JSON object per line; blank lines are skipped. Text fields must be JSON strings;
 * labels may be strings or finite numbers (numbers become strings, 1 -> "1").
 *
 * Every problem is reported as a TaskFileError whose message names the file, the 1-based line (for
 * CSV also the data row), the field, and what was expected vs what was found; up to 20 problems
 * are listed at once.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildTask } from "./build-task";
import { scanCsv } from "./csv-records";
import type { Example, TaskData } from "./example";
import { resolveSplitOptions, type SplitOptions } from "./split";

export interface TaskFileOptions extends Partial<SplitOptions> {
  /** Column (CSV header name / JSON key) holding the text. */
  readonly textColumn: string;
  /** Column holding the second text of a pair task. */
  readonly textBColumn?: string;
  /** Column holding the label. */
  readonly labelColumn: string;
  /** Allowed labels, in the order the task should use; other labels are errors. Default: the
   *  distinct labels found, sorted (numerically when all are numbers). */
  readonly labels?: readonly string[];
  /** Task name (default: file name without extension). */
  readonly name?: string;
}

/** One located problem in a task file. */
export interface TaskFileIssue {
  /** 1-based line in the file (0 when the problem concerns the whole file). */
  readonly line: number;
  /** 1-based data row for CSV (header excluded); undefined for JSONL and whole-file problems. */
  readonly row?: number;
  /** Column/key concerned, or "(line)" / "(file)" when none applies. */
  readonly field: string;
  readonly expected: string;
  readonly got: string;
}

/** Bad task file: `issues` holds every problem found (up to MAX_ISSUES), the message lists them. */
export class TaskFileError extends Error {
  constructor(
    readonly file: string,
    readonly issues: readonly TaskFileIssue[],
  ) {
    super(formatIssues(file, issues));
    this.name = "TaskFileError";
  }
}

const MAX_ISSUES = 20;

function formatIssue(file: string, x: TaskFileIssue): string {
  const where = x.line > 0 ? `line ${x.line}${x.row !== undefined ? ` (data row ${x.row})` : ""}` : "whole file";
  return `${file}: ${where}: field "${x.field}": expected ${x.expected}, got ${x.got}`;
}

function formatIssues(file: string, issues: readonly TaskFileIssue[]): string {
  const head = issues.length === 1 ? "1 problem" : `${issues.length}${issues.length >= MAX_ISSUES ? "+" : ""} problems`;
  return `invalid task file ${file} (${head}):\n  ` + issues.map((x) => formatIssue(file, x)).join("\n  ");
}

/** A record before validation: where it came from and its raw field values. */
interface RawRecord {
  readonly line: number;
  readonly row?: number;
  readonly fields: Readonly<Record<string, unknown>>;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `array ${truncate(JSON.stringify(v))}`;
  if (typeof v === "object") return `object ${truncate(JSON.stringify(v))}`;
  if (typeof v === "string") return JSON.stringify(truncate(v));
  return `${typeof v} ${String(v)}`;
}

function truncate(s: string, n = 60): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/** Load, validate and split a task file. */
export async function loadTaskFile(file: string, opts: TaskFileOptions): Promise<TaskData> {
  const { textColumn, textBColumn, labelColumn, labels, name, ...splitOpts } = opts ?? ({} as TaskFileOptions);
  const split = resolveSplitOptions(splitOpts);
  for (const [k, v] of [["textColumn", textColumn], ["labelColumn", labelColumn]] as const) {
    if (typeof v !== "string" || v === "") throw new Error(`loadTaskFile(${file}): option ${k} must be a non-empty string, got ${describe(v)}`);
  }
  if (textBColumn !== undefined && (typeof textBColumn !== "string" || textBColumn === "")) {
    throw new Error(`loadTaskFile(${file}): option textBColumn must be a non-empty string when given, got ${describe(textBColumn)}`);
  }
  if (labels !== undefined) {
    if (!Array.isArray(labels) || labels.some((l) => typeof l !== "string" || l.trim() === "")) {
      throw new Error(`loadTaskFile(${file}): option labels must be an array of non-empty strings, got ${describe(labels)}`);
    }
    if (new Set(labels).size !== labels.length) throw new Error(`loadTaskFile(${file}): option labels has duplicates: ${describe(labels)}`);
    if (labels.length < 2) throw new Error(`loadTaskFile(${file}): option labels needs at least 2 labels, got ${describe(labels)}`);
  }

  let content: string;
  try {
    content = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`loadTaskFile: cannot read ${file}: ${(err as Error).message}`);
  }
  const ext = path.extname(file).toLowerCase();
  const columns = [textColumn, ...(textBColumn !== undefined ? [textBColumn] : []), labelColumn];
  let records: RawRecord[];
  if (ext === ".csv") records = await readCsvRecords(file, content, columns);
  else if (ext === ".jsonl" || ext === ".ndjson") records = readJsonlRecords(file, content);
  else throw new Error(`loadTaskFile: ${file}: unsupported extension "${ext}", expected .csv, .jsonl or .ndjson`);

  const examples = toExamples(file, records, { textColumn, textBColumn, labelColumn, labels });
  const finalLabels = labels ?? sortLabels([...new Set(examples.map((e) => e.label))]);
  const taskName = name ?? path.basename(file, path.extname(file));
  const hash = createHash("sha256").update(content).digest("hex").slice(0, 16);
  return buildTask(taskName, finalLabels, examples, split, {
    package: "file",
    version: `sha256:${hash}`,
    licence: "user-supplied (unknown)",
    note:
      `${path.resolve(file)}: ${examples.length} examples from ${records.length} records; text=${textColumn}` +
      `${textBColumn !== undefined ? `, textB=${textBColumn}` : ""}, label=${labelColumn}.`,
  });
}

/** CSV -> records via danfojs, with line numbers from scanCsv. */
async function readCsvRecords(file: string, content: string, columns: readonly string[]): Promise<RawRecord[]> {
  const scan = scanCsv(content);
  if (scan.problem) {
    throw new TaskFileError(file, [{ line: scan.problem.line, field: "(line)", expected: "well-formed CSV", got: scan.problem.message }]);
  }
  const [header, ...data] = scan.records;
  if (!header) throw new TaskFileError(file, [{ line: 0, field: "(file)", expected: "a header line and data rows", got: "an empty file" }]);
  const names = header.values.map((v) => v.trim());
  const issues: TaskFileIssue[] = [];
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) issues.push({ line: header.line, field: n, expected: "unique column names", got: `column "${n}" twice` });
    seen.add(n);
  }
  for (const c of columns) {
    if (!seen.has(c)) {
      issues.push({ line: header.line, field: c, expected: `a column named "${c}"`, got: `none; available columns: [${names.join(", ")}]` });
    }
  }
  data.forEach((r, i) => {
    if (r.fields !== header.fields && issues.length < MAX_ISSUES) {
      issues.push({ line: r.line, row: i + 1, field: "(line)", expected: `${header.fields} fields like the header`, got: `${r.fields}` });
    }
  });
  if (data.length === 0) issues.push({ line: 0, field: "(file)", expected: "at least one data row after the header", got: "none" });
  if (issues.length > 0) throw new TaskFileError(file, issues.slice(0, MAX_ISSUES));

  const dfd = (await import("danfojs-node")) as unknown as {
    readCSV(p: string, o: Record<string, unknown>): Promise<{ columns: string[]; values: unknown[][] }>;
  };
  let df: { columns: string[]; values: unknown[][] };
  try {
    df = await dfd.readCSV(file, { dynamicTyping: false, skipEmptyLines: true });
  } catch (err) {
    throw new Error(`loadTaskFile: danfojs could not read ${file}: ${(err as Error).message}`);
  }
  if (df.values.length !== data.length) {
    throw new Error(`loadTaskFile: ${file}: danfojs read ${df.values.length} data rows but the file has ${data.length} records; cannot map rows to lines`);
  }
  const index = new Map(df.columns.map((c, i) => [c.trim(), i]));
  return df.values.map((row, i) => {
    const fields: Record<string, unknown> = {};
    for (const c of columns) fields[c] = row[index.get(c)!];
    return { line: data[i]!.line, row: i + 1, fields };
  });
}

/** JSON Lines -> records; malformed lines and non-object lines are reported with their line. */
function readJsonlRecords(file: string, content: string): RawRecord[] {
  const text = content.charCodeAt(0) === 0xfeff ? content.slice(1) : content;
  const records: RawRecord[] = [];
  const issues: TaskFileIssue[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      issues.push({ line: i + 1, field: "(line)", expected: "a JSON object", got: `malformed JSON (${(err as Error).message}): ${truncate(raw.trim())}` });
      return;
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      issues.push({ line: i + 1, field: "(line)", expected: "a JSON object", got: describe(value) });
      return;
    }
    records.push({ line: i + 1, fields: value as Record<string, unknown> });
  });
  if (records.length === 0 && issues.length === 0) {
    issues.push({ line: 0, field: "(file)", expected: "at least one JSON object line", got: "none" });
  }
  if (issues.length > 0) throw new TaskFileError(file, issues.slice(0, MAX_ISSUES));
  return records;
}

/** Validate every record and build examples; throws a TaskFileError listing the problems. */
function toExamples(
  file: string,
  records: readonly RawRecord[],
  o: { textColumn: string; textBColumn?: string; labelColumn: string; labels?: readonly string[] },
): Example[] {
  const issues: TaskFileIssue[] = [];
  const add = (issue: TaskFileIssue): void => {
    if (issues.length < MAX_ISSUES) issues.push(issue);
  };
  const allowed = o.labels ? new Set(o.labels) : null;
  const base = path.basename(file);
  const examples: Example[] = [];
  for (const r of records) {
    const at = { line: r.line, ...(r.row !== undefined ? { row: r.row } : {}) };
    const readText = (col: string): string | null => {
      if (!(col in r.fields)) {
        add({ ...at, field: col, expected: "a text value", got: `no such key; keys present: [${Object.keys(r.fields).join(", ")}]` });
        return null;
      }
      const v = r.fields[col];
      if (typeof v !== "string") {
        add({ ...at, field: col, expected: "a string", got: describe(v) });
        return null;
      }
      if (v.trim() === "") {
        add({ ...at, field: col, expected: "non-empty text", got: v === "" ? "an empty string" : `whitespace only ${JSON.stringify(v)}` });
        return null;
      }
      return v;
    };
    const text = readText(o.textColumn);
    const textB = o.textBColumn !== undefined ? readText(o.textBColumn) : undefined;
    let label: string | null = null;
    if (!(o.labelColumn in r.fields)) {
      add({ ...at, field: o.labelColumn, expected: "a label", got: `no such key; keys present: [${Object.keys(r.fields).join(", ")}]` });
    } else {
      const v = r.fields[o.labelColumn];
      if (typeof v === "number" && Number.isFinite(v)) label = String(v);
      else if (typeof v === "string") label = v.trim();
      else add({ ...at, field: o.labelColumn, expected: "a string or number label", got: describe(v) });
      if (label === "") {
        add({ ...at, field: o.labelColumn, expected: "a non-empty label", got: "an empty value" });
        label = null;
      } else if (label !== null && allowed && !allowed.has(label)) {
        add({ ...at, field: o.labelColumn, expected: `one of [${[...allowed].join(", ")}]`, got: JSON.stringify(label) });
        label = null;
      }
    }
    if (text !== null && textB !== null && label !== null) {
      examples.push({
        id: `${base}:${r.line}`,
        text: text.trim(),
        ...(textB !== undefined ? { textB: textB.trim() } : {}),
        label,
      });
    }
  }
  if (issues.length > 0) throw new TaskFileError(file, issues);
  const distinct = [...new Set(examples.map((e) => e.label))];
  if (distinct.length < 2) {
    throw new TaskFileError(file, [
      {
        line: 0,
        field: o.labelColumn,
        expected: "at least 2 distinct labels",
        got: `${distinct.length} (${distinct.map((l) => JSON.stringify(l)).join(", ") || "none"}) in ${examples.length} rows`,
      },
    ]);
  }
  return examples;
}

/** Numeric order when every label is a number, else code-unit order. */
function sortLabels(labels: string[]): string[] {
  const numeric = labels.every((l) => l.trim() !== "" && Number.isFinite(Number(l)));
  return numeric ? labels.sort((a, b) => Number(a) - Number(b)) : labels.sort();
}
