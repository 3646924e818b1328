/**
 * User classification tasks from a .csv, .tsv or .jsonl (JSON Lines, also .ndjson) file.
 *
 * Bytes: the file is decoded as UTF-8 by default, strictly: a byte sequence that is not UTF-8 is refused with
 * its line and byte column (silently turning it into U+FFFD would alter the user's text). Files in another
 * encoding are read by declaring it (option `encoding`, e.g. "latin1", "windows-1252", "utf-16le"; any label
 * the WHATWG Encoding Standard knows). A leading byte-order mark is ignored.
 *
 * TSV (.tsv, .tab) is the same dialect as CSV with a tab between fields (double quotes still quote a field).
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
import { decodeTaskFile, isUtf8, stripBom } from "./task-file-decode";
import { MAX_ISSUES, TaskFileError, describe, truncate, type TaskFileIssue } from "./task-file-error";

export { decodeTaskFile } from "./task-file-decode";
export { TaskFileError, type TaskFileIssue } from "./task-file-error";

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
  /** Text encoding of the file (default "utf-8", strict). */
  readonly encoding?: string;
  /** File format (default: from the extension: .csv, .tsv/.tab, .jsonl/.ndjson). */
  readonly format?: TaskFileFormat;
}

export const TASK_FILE_FORMATS = Object.freeze(["csv", "tsv", "jsonl"] as const);
export type TaskFileFormat = (typeof TASK_FILE_FORMATS)[number];

/** The format a file name implies, or null for an extension the loader does not know. */
export function formatOfFile(file: string): TaskFileFormat | null {
  const ext = path.extname(file).toLowerCase();
  if (ext === ".csv") return "csv";
  if (ext === ".tsv" || ext === ".tab") return "tsv";
  if (ext === ".jsonl" || ext === ".ndjson") return "jsonl";
  return null;
}

/** A record before validation: where it came from and its raw field values. */
interface RawRecord {
  readonly line: number;
  readonly row?: number;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** Load, validate and split a task file. */
export async function loadTaskFile(file: string, opts: TaskFileOptions): Promise<TaskData> {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new Error(`loadTaskFile: cannot read ${file}: ${(err as Error).message}`);
  }
  return loadTaskFileBytes(file, bytes, opts);
}

/** loadTaskFile on bytes already read from `file` (so a caller can hash exactly what was loaded). */
export async function loadTaskFileBytes(file: string, bytes: Buffer, opts: TaskFileOptions): Promise<TaskData> {
  const {
    textColumn,
    textBColumn,
    labelColumn,
    labels,
    name,
    encoding: _encoding,
    format: _format,
    ...splitOpts
  } = opts ?? ({} as TaskFileOptions);
  const split = resolveSplitOptions(splitOpts);
  for (const [k, v] of [
    ["textColumn", textColumn],
    ["labelColumn", labelColumn],
  ] as const) {
    if (typeof v !== "string" || v === "")
      throw new Error(`loadTaskFile(${file}): option ${k} must be a non-empty string, got ${describe(v)}`);
  }
  if (textBColumn !== undefined && (typeof textBColumn !== "string" || textBColumn === "")) {
    throw new Error(
      `loadTaskFile(${file}): option textBColumn must be a non-empty string when given, got ${describe(textBColumn)}`,
    );
  }
  if (labels !== undefined) {
    if (!Array.isArray(labels) || labels.some((l) => typeof l !== "string" || l.trim() === "")) {
      throw new Error(
        `loadTaskFile(${file}): option labels must be an array of non-empty strings, got ${describe(labels)}`,
      );
    }
    if (new Set(labels).size !== labels.length)
      throw new Error(`loadTaskFile(${file}): option labels has duplicates: ${describe(labels)}`);
    if (labels.length < 2)
      throw new Error(`loadTaskFile(${file}): option labels needs at least 2 labels, got ${describe(labels)}`);
  }

  const format = opts.format ?? formatOfFile(file);
  if (format === null) {
    throw new Error(
      `loadTaskFile: ${file}: unsupported extension "${path.extname(file)}", expected .csv, .tsv, .tab, .jsonl or .ndjson (or give option format: ${TASK_FILE_FORMATS.join(" | ")})`,
    );
  }
  if (!(TASK_FILE_FORMATS as readonly string[]).includes(format)) {
    throw new Error(
      `loadTaskFile(${file}): option format must be one of ${TASK_FILE_FORMATS.join(", ")}, got ${describe(format)}`,
    );
  }
  const encoding = opts.encoding ?? "utf-8";
  const content = decodeTaskFile(file, bytes, encoding);
  if (content.trim() === "") {
    const what = format === "jsonl" ? "JSON object lines" : "a header line and data rows";
    throw new TaskFileError(file, [
      {
        line: 0,
        field: "(file)",
        expected: what,
        got: bytes.length === 0 ? "an empty file (0 bytes)" : `only whitespace (${bytes.length} bytes)`,
      },
    ]);
  }
  const columns = [textColumn, ...(textBColumn !== undefined ? [textBColumn] : []), labelColumn];
  let records: RawRecord[];
  if (format === "jsonl") records = readJsonlRecords(file, content, columns);
  else records = await readCsvRecords(file, content, columns, format === "tsv" ? "\t" : ",", isUtf8(encoding));

  const examples = toExamples(file, records, { textColumn, textBColumn, labelColumn, labels });
  const finalLabels = labels ?? sortLabels([...new Set(examples.map((e) => e.label))]);
  const taskName = name ?? path.basename(file, path.extname(file));
  const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
  const task = buildTask(taskName, finalLabels, examples, split, {
    package: "file",
    version: `sha256:${hash}`,
    licence: "user-supplied (unknown)",
    note:
      `${path.resolve(file)}: ${examples.length} examples from ${records.length} records; text=${textColumn}` +
      `${textBColumn !== undefined ? `, textB=${textBColumn}` : ""}, label=${labelColumn}` +
      `${isUtf8(encoding) ? "" : `, encoding=${encoding}`}.`,
  });
  checkSplitCoverage(file, labelColumn, task, split, examples);
  return task;
}

/**
 * Every label must reach every split that is asked for (train always, dev/test when their fraction is > 0), or
 * evaluation would silently score a class the model never saw (or never test it). Refuses, naming the label,
 * how many examples it has after de-duplication and how many it needs with these fractions.
 */
function checkSplitCoverage(
  file: string,
  labelColumn: string,
  task: TaskData,
  split: SplitOptions,
  examples: readonly Example[],
): void {
  const short: string[] = [];
  for (const label of task.labels) {
    const n = (xs: readonly Example[]): number => xs.filter((e) => e.label === label).length;
    const counts = { train: n(task.train), dev: n(task.dev), test: n(task.test) };
    const empty = (["train", "dev", "test"] as const).filter(
      (s) => counts[s] === 0 && (s === "train" || (s === "dev" ? split.devFraction : split.testFraction) > 0),
    );
    if (empty.length === 0) continue;
    const kept = counts.train + counts.dev + counts.test;
    const raw = n(examples);
    short.push(
      `${JSON.stringify(label)} has ${kept}${raw !== kept ? ` (${raw} before de-duplication)` : ""}, leaving ${empty.join(" and ")} without it`,
    );
  }
  if (short.length === 0) return;
  const splits = `train${split.devFraction > 0 ? ", dev" : ""}${split.testFraction > 0 ? " and test" : ""}`;
  throw new TaskFileError(file, [
    {
      line: 0,
      field: labelColumn,
      expected: `at least ${minExamplesPerLabel(split)} examples of each label (so that ${splits} each get one with devFraction ${split.devFraction}, testFraction ${split.testFraction})`,
      got: `label ${short.join("; label ")}. Add examples, merge the label into another, or drop its rows`,
    },
  ]);
}

/** Smallest label size for which the stratified split gives train, and dev/test when asked, at least one each. */
export function minExamplesPerLabel(split: Pick<SplitOptions, "devFraction" | "testFraction">): number {
  for (let n = 1; n < 100_000; n++) {
    const nTest = Math.round(n * split.testFraction);
    const nDev = Math.min(n - nTest, Math.round(n * split.devFraction));
    const nTrain = n - nTest - nDev;
    if (nTrain >= 1 && (split.testFraction === 0 || nTest >= 1) && (split.devFraction === 0 || nDev >= 1)) return n;
  }
  return Infinity;
}

/** CSV -> records via danfojs, with line numbers from scanCsv.
 * Long on purpose: one scan that keeps the line numbers every error message needs.
 */
async function readCsvRecords(
  file: string,
  content: string,
  columns: readonly string[],
  delimiter: string,
  utf8: boolean,
): Promise<RawRecord[]> {
  const scan = scanCsv(content, delimiter);
  if (scan.problem) {
    throw new TaskFileError(file, [
      { line: scan.problem.line, field: "(line)", expected: "well-formed CSV", got: scan.problem.message },
    ]);
  }
  const [header, ...data] = scan.records;
  if (!header)
    throw new TaskFileError(file, [
      { line: 0, field: "(file)", expected: "a header line and data rows", got: "an empty file" },
    ]);
  const names = header.values.map((v) => v.trim());
  const issues: TaskFileIssue[] = [];
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n))
      issues.push({ line: header.line, field: n, expected: "unique column names", got: `column "${n}" twice` });
    seen.add(n);
  }
  for (const c of columns) {
    if (!seen.has(c)) {
      issues.push({
        line: header.line,
        field: c,
        expected: `a column named "${c}"`,
        got: `none; available columns: [${names.join(", ")}]`,
      });
    }
  }
  data.forEach((r, i) => {
    if (r.fields !== header.fields && issues.length < MAX_ISSUES) {
      issues.push({
        line: r.line,
        row: i + 1,
        field: "(line)",
        expected: `${header.fields} fields like the header`,
        got: `${r.fields}`,
      });
    }
  });
  if (data.length === 0)
    issues.push({ line: 0, field: "(file)", expected: "at least one data row after the header", got: "none" });
  if (issues.length > 0) throw new TaskFileError(file, issues.slice(0, MAX_ISSUES));

  if (!utf8) {
    // danfojs reads the file itself, as UTF-8; for a declared encoding the scan's values (decoded text) are used.
    const at = new Map(names.map((c, i) => [c, i]));
    return data.map((r, i) => {
      const fields: Record<string, unknown> = {};
      for (const c of columns) fields[c] = r.values[at.get(c)!];
      return { line: r.line, row: i + 1, fields };
    });
  }
  const dfd = (await import("danfojs-node")) as unknown as {
    readCSV(p: string, o: Record<string, unknown>): Promise<{ columns: string[]; values: unknown[][] }>;
  };
  let df: { columns: string[]; values: unknown[][] };
  try {
    df = await dfd.readCSV(file, { dynamicTyping: false, skipEmptyLines: true, delimiter });
  } catch (err) {
    throw new Error(`loadTaskFile: danfojs could not read ${file}: ${(err as Error).message}`);
  }
  if (df.values.length !== data.length) {
    throw new Error(
      `loadTaskFile: ${file}: danfojs read ${df.values.length} data rows but the file has ${data.length} records; cannot map rows to lines`,
    );
  }
  const index = new Map(df.columns.map((c, i) => [c.trim(), i]));
  const at = new Map(names.map((c, i) => [c, i]));
  return df.values.map((row, i) => {
    const fields: Record<string, unknown> = {};
    for (const c of columns) {
      const value = row[index.get(c)!];
      // danfojs read the file from disk again: its cells must be the bytes that were scanned (and hashed).
      const scanned = data[i]!.values[at.get(c)!];
      if (typeof value === "string" && value !== scanned) {
        throw new Error(
          `loadTaskFile: ${file}: line ${data[i]!.line}, field "${c}": danfojs read ${describe(value)} where the line scan read ${describe(scanned)}; ` +
            `did the file change while it was being read?`,
        );
      }
      fields[c] = value;
    }
    return { line: data[i]!.line, row: i + 1, fields };
  });
}

/** JSON Lines -> records; malformed lines and non-object lines are reported with their line. */
function readJsonlRecords(file: string, content: string, columns: readonly string[]): RawRecord[] {
  const text = stripBom(content);
  const records: RawRecord[] = [];
  const issues: TaskFileIssue[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      issues.push({
        line: i + 1,
        field: "(line)",
        expected: "a JSON object",
        got: `malformed JSON (${(err as Error).message}): ${truncate(raw.trim())}`,
      });
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
  // A key that no line has is a wrong column name: one problem listing the keys found, not one per line.
  const keys = new Set(records.flatMap((r) => Object.keys(r.fields)));
  for (const c of columns) {
    if (!keys.has(c))
      issues.push({
        line: 0,
        field: c,
        expected: `a key named "${c}" in the JSON objects`,
        got: `none in any of ${records.length} lines; keys found: [${[...keys].join(", ")}]`,
      });
  }
  if (issues.length > 0) throw new TaskFileError(file, issues);
  return records;
}

/** Validate every record and build examples; throws a TaskFileError listing the problems.
 * Long on purpose: one pass over the rows that checks each field and builds the examples, so every error can name its row.
 */
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
        add({
          ...at,
          field: col,
          expected: "a text value",
          got: `no such key; keys present: [${Object.keys(r.fields).join(", ")}]`,
        });
        return null;
      }
      const v = r.fields[col];
      if (typeof v !== "string") {
        add({ ...at, field: col, expected: "a string", got: describe(v) });
        return null;
      }
      if (v.trim() === "") {
        add({
          ...at,
          field: col,
          expected: "non-empty text",
          got: v === "" ? "an empty string" : `whitespace only ${JSON.stringify(v)}`,
        });
        return null;
      }
      return v;
    };
    const text = readText(o.textColumn);
    const textB = o.textBColumn !== undefined ? readText(o.textBColumn) : undefined;
    let label: string | null = null;
    if (!(o.labelColumn in r.fields)) {
      add({
        ...at,
        field: o.labelColumn,
        expected: "a label",
        got: `no such key; keys present: [${Object.keys(r.fields).join(", ")}]`,
      });
    } else {
      const v = r.fields[o.labelColumn];
      if (typeof v === "number" && Number.isFinite(v)) label = String(v);
      else if (typeof v === "string") label = v.trim();
      else add({ ...at, field: o.labelColumn, expected: "a string or number label", got: describe(v) });
      if (label === "") {
        add({ ...at, field: o.labelColumn, expected: "a non-empty label", got: "an empty value" });
        label = null;
      } else if (label !== null && allowed && !allowed.has(label)) {
        add({
          ...at,
          field: o.labelColumn,
          expected: `one of [${[...allowed].join(", ")}]`,
          got: JSON.stringify(label),
        });
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
