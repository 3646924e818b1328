/** The error a bad task file gets: every located problem (file, line, data row, field, expected vs got). */
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

export const MAX_ISSUES = 20;

export function formatIssue(file: string, x: TaskFileIssue): string {
  const where = x.line > 0 ? `line ${x.line}${x.row !== undefined ? ` (data row ${x.row})` : ""}` : "whole file";
  return `${file}: ${where}: field "${x.field}": expected ${x.expected}, got ${x.got}`;
}

export function formatIssues(file: string, issues: readonly TaskFileIssue[]): string {
  const head = issues.length === 1 ? "1 problem" : `${issues.length}${issues.length >= MAX_ISSUES ? "+" : ""} problems`;
  return `invalid task file ${file} (${head}):\n  ` + issues.map((x) => formatIssue(file, x)).join("\n  ");
}

export function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `array ${truncate(JSON.stringify(v))}`;
  if (typeof v === "object") return `object ${truncate(JSON.stringify(v))}`;
  if (typeof v === "string") return JSON.stringify(truncate(v));
  return `${typeof v} ${String(v)}`;
}

export function truncate(s: string, n = 60): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
