/**
 * Pure table rendering: an array of records or a danfojs DataFrame (anything with `columns` and
 * 2-D `values`) -> a styled HTML table (numbers right-aligned and formatted) plus an aligned
 * text/plain version. Display in a notebook goes through show.ts (showTable).
 */
import { formatValue } from "../io/format";
import { escapeHtml } from "./html";

/** One record; keys are column names. */
export type TableRecord = Readonly<Record<string, unknown>>;

/**
 * The part of a danfojs DataFrame the renderer reads (duck-typed so lib/viz does not load danfojs):
 * column names, row-major values, and optionally the row index.
 */
export interface FrameLike {
  readonly columns: readonly string[];
  readonly values: readonly unknown[];
  readonly index?: readonly unknown[];
}

export type TableInput = readonly TableRecord[] | FrameLike;

export interface TableOptions {
  /** Caption above the table. */
  readonly title?: string;
  /** Decimals for non-integer numbers (see formatNumber). */
  readonly decimals?: number;
  /** Rows shown; the rest are summarised as "... N more rows". */
  readonly maxRows?: number;
  /** Columns to show, in this order (default: all, in first-seen order). */
  readonly columns?: readonly string[];
  /** Show the DataFrame index as the first column (default: only when it is not 0..n-1). */
  readonly index?: boolean;
  /** Per-column formatter overriding the default number/value formatting. */
  readonly formatters?: Readonly<Record<string, (value: unknown) => string>>;
}

export const TABLE_DEFAULTS = Object.freeze({ decimals: 4, maxRows: 50 });

export interface ResolvedTableOptions {
  readonly title: string | undefined;
  readonly decimals: number;
  readonly maxRows: number;
  readonly columns: readonly string[] | undefined;
  readonly index: boolean | undefined;
  readonly formatters: Readonly<Record<string, (value: unknown) => string>>;
}

/** Fills defaults and validates; the error names the bad option and value. */
export function resolveTableOptions(options: TableOptions = {}): ResolvedTableOptions {
  const decimals = options.decimals ?? TABLE_DEFAULTS.decimals;
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 20) {
    throw new Error(`table options: decimals must be an integer in 0..20, got ${decimals}`);
  }
  const maxRows = options.maxRows ?? TABLE_DEFAULTS.maxRows;
  if (!Number.isInteger(maxRows) || maxRows < 1) {
    throw new Error(`table options: maxRows must be a positive integer, got ${maxRows}`);
  }
  if (options.columns !== undefined && !Array.isArray(options.columns)) {
    throw new Error(`table options: columns must be an array of names, got ${typeof options.columns}`);
  }
  return {
    title: options.title,
    decimals,
    maxRows,
    columns: options.columns,
    index: options.index,
    formatters: options.formatters ?? {},
  };
}

/** A table normalised to strings, ready to render. */
export interface TableData {
  readonly title: string | undefined;
  readonly columns: readonly string[];
  /** Formatted cells of the shown rows (at most maxRows). */
  readonly cells: readonly (readonly string[])[];
  /** Per column: every non-empty value is numeric (right-aligned). */
  readonly numeric: readonly boolean[];
  /** Number of rows in the input (shown + hidden). */
  readonly totalRows: number;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

/** True for danfojs DataFrames and other objects shaped like FrameLike. */
export function isFrameLike(input: unknown): input is FrameLike {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return false;
  const f = input as Partial<FrameLike>;
  return Array.isArray(f.columns) && Array.isArray(f.values);
}

interface RawTable {
  columns: string[];
  rows: unknown[][];
}

function fromRecords(records: readonly TableRecord[]): RawTable {
  const columns: string[] = [];
  const seen = new Set<string>();
  records.forEach((rec, i) => {
    if (typeof rec !== "object" || rec === null || Array.isArray(rec)) {
      throw new Error(`table: row ${i} is ${describe(rec)}, expected an object (record of column -> value)`);
    }
    for (const key of Object.keys(rec)) {
      if (!seen.has(key)) {
        seen.add(key);
        columns.push(key);
      }
    }
  });
  return { columns, rows: records.map((rec) => columns.map((c) => rec[c])) };
}

function isDefaultIndex(index: readonly unknown[]): boolean {
  return index.every((v, i) => v === i);
}

function fromFrame(frame: FrameLike, showIndex: boolean | undefined): RawTable {
  const columns = frame.columns.map(String);
  const rows = frame.values.map((row, i) => {
    if (!Array.isArray(row)) {
      throw new Error(
        `table: DataFrame values row ${i} is ${describe(row)}, expected an array of ${columns.length} cells ` +
          `(a danfojs Series? wrap it: new DataFrame({ name: series.values }))`,
      );
    }
    if (row.length !== columns.length) {
      throw new Error(
        `table: DataFrame values row ${i} has ${row.length} cells, expected ${columns.length} (columns: ${columns.join(", ")})`,
      );
    }
    return [...row];
  });
  const index = frame.index;
  const withIndex = showIndex ?? (index !== undefined && !isDefaultIndex(index));
  if (!withIndex) return { columns, rows };
  if (index === undefined || index.length !== rows.length) {
    throw new Error(
      `table: index requested but the DataFrame index has ${index === undefined ? "no" : index.length} entries for ${rows.length} rows`,
    );
  }
  return { columns: ["", ...columns], rows: rows.map((r, i) => [index[i], ...r]) };
}

function isNumeric(v: unknown): boolean {
  return typeof v === "number" || typeof v === "bigint";
}

/** Normalises records or a DataFrame into formatted cells. */
export function tableData(input: TableInput, options: TableOptions = {}): TableData {
  const opts = resolveTableOptions(options);
  let raw: RawTable;
  if (Array.isArray(input)) raw = fromRecords(input as readonly TableRecord[]);
  else if (isFrameLike(input)) raw = fromFrame(input, opts.index);
  else {
    throw new Error(
      `table: expected an array of records or a DataFrame (with columns and values), got ${describe(input)}`,
    );
  }
  let columns = raw.columns;
  let rows = raw.rows;
  if (opts.columns) {
    const positions = opts.columns.map((name) => {
      const at = raw.columns.indexOf(name);
      if (at < 0) {
        throw new Error(`table options: column "${name}" not found; available: ${raw.columns.join(", ")}`);
      }
      return at;
    });
    columns = positions.map((p) => raw.columns[p]);
    rows = rows.map((r) => positions.map((p) => r[p]));
  }
  const shown = rows.slice(0, opts.maxRows);
  const numeric = columns.map((_, c) => {
    const present = rows.map((r) => r[c]).filter((v) => v !== null && v !== undefined);
    return present.length > 0 && present.every(isNumeric);
  });
  const cells = shown.map((r) =>
    r.map((v, c) => {
      const fmt = opts.formatters[columns[c]];
      return fmt ? fmt(v) : formatValue(v, opts.decimals);
    }),
  );
  return { title: opts.title, columns, cells, numeric, totalRows: rows.length };
}

function moreRowsNote(t: TableData): string | null {
  const hidden = t.totalRows - t.cells.length;
  return hidden > 0 ? `... ${hidden} more rows (${t.totalRows} total)` : null;
}

/**
 * CSS for .kit-table. Selectors start with .kit-table-wrap so they outrank the notebook front ends'
 * own table rules (JupyterLab/nbconvert `.jp-RenderedHTMLCommon td`, classic `.rendered_html td`
 * right-align everything) without restyling other outputs.
 */
const W = ".kit-table-wrap table.kit-table";
export const TABLE_CSS =
  `${W}{border-collapse:collapse;border:none;margin:4px 0;font:13px/1.35 -apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#222}` +
  `${W} caption{caption-side:top;text-align:left;font-weight:600;padding:2px 0 4px}` +
  `${W} th,${W} td{padding:3px 10px;border:none;border-bottom:1px solid #e3e3e3;text-align:left;white-space:nowrap;vertical-align:middle}` +
  `${W} thead th{border-bottom:2px solid #888;background:#f6f6f6}` +
  `${W} tbody tr:nth-child(odd){background:#fff}` +
  `${W} tbody tr:nth-child(even){background:#fafafa}` +
  `${W} tbody tr:hover{background:#eef4fb}` +
  `${W} td.num,${W} th.num{text-align:right;font-variant-numeric:tabular-nums}` +
  ".kit-table-wrap .kit-table-note{font:12px sans-serif;color:#777;margin:2px 0 6px}";

/** Renders normalised table data as an HTML fragment (with its own <style>). */
export function tableDataHtml(t: TableData): string {
  const cls = (c: number) => (t.numeric[c] ? ' class="num"' : "");
  const head = t.columns.map((name, c) => `<th${cls(c)}>${escapeHtml(name)}</th>`).join("");
  const body = t.cells
    .map((row) => `<tr>${row.map((cell, c) => `<td${cls(c)}>${escapeHtml(cell)}</td>`).join("")}</tr>`)
    .join("\n");
  const caption = t.title !== undefined ? `<caption>${escapeHtml(t.title)}</caption>` : "";
  const note = moreRowsNote(t);
  return (
    `<div class="kit-table-wrap"><style>${TABLE_CSS}</style>` +
    `<table class="kit-table">${caption}<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table>` +
    (note ? `<div class="kit-table-note">${escapeHtml(note)}</div>` : "") +
    `</div>`
  );
}

/** Renders normalised table data as aligned plain text (numbers right-aligned). */
export function tableDataText(t: TableData): string {
  const widths = t.columns.map((name, c) => Math.max(name.length, ...t.cells.map((r) => r[c].length)));
  const pad = (s: string, c: number) => (t.numeric[c] ? s.padStart(widths[c]) : s.padEnd(widths[c]));
  const line = (cells: readonly string[]) => cells.map(pad).join("  ").trimEnd();
  const lines: string[] = [];
  if (t.title !== undefined) lines.push(t.title);
  lines.push(line(t.columns));
  lines.push(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of t.cells) lines.push(line(row));
  const note = moreRowsNote(t);
  if (note) lines.push(note);
  return lines.join("\n");
}

/** Records or a DataFrame -> {html, text}. */
export function renderTable(input: TableInput, options: TableOptions = {}): { html: string; text: string } {
  const t = tableData(input, options);
  return { html: tableDataHtml(t), text: tableDataText(t) };
}
