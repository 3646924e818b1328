/**
 * Summary rows (lib/experiment/summary.ts) and paired gaps (gaps.ts) as table records for viz.showTable:
 * "mean ± std" and "[low, high]" text columns, option values as text, costs in readable units.
 */
import type { MethodGapRow } from "../experiment/gaps";
import { formatBytes, type MetricName, type SummaryRow } from "../experiment/summary";
import type { Summary } from "../eval/stats";
import { formatSI } from "../io/format";
import type { TableRecord } from "../viz/table";

/** "0.7125 ± 0.0210" (digits decimals). */
export function meanStd(s: Summary, digits = 4): string {
  return `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}`;
}

/** "[0.6900, 0.7300]". */
export function interval(s: Summary, digits = 4): string {
  return `[${s.ciLow.toFixed(digits)}, ${s.ciHigh.toFixed(digits)}]`;
}

/** "+0.0125" / "-0.0300": signed, for differences. */
export function signed(x: number, digits = 4): string {
  return `${x >= 0 ? "+" : ""}${x.toFixed(digits)}`;
}

function optionText(v: unknown): string {
  if (v === undefined || v === null) return v === null ? "all" : "—";
  return typeof v === "string" ? v : JSON.stringify(v);
}

const METRIC_TITLES: Record<MetricName, string> = { accuracy: "accuracy", macroF1: "macro-F1", mcc: "MCC" };

export interface SummaryTableOptions {
  /** Metrics shown as "mean ± std" (default accuracy and macroF1); the first also gets its CI column. */
  readonly metrics?: readonly MetricName[];
  /** Cost columns: trainable params, task storage, ms/step, peak tensor memory (default true). */
  readonly cost?: boolean;
  /** Show the backbone column even when all rows share one backbone (default: only when they differ). */
  readonly backbone?: boolean;
  readonly digits?: number;
}

/**
 * One record per summary row: [backbone], task, method, the varying options ("—" where a method lacks the
 * option, "all" for null), n seeds, metrics as mean ± std, the first metric's 95% bootstrap CI, and costs.
 */
export function summaryTable(rows: readonly SummaryRow[], options: SummaryTableOptions = {}): TableRecord[] {
  const metrics = options.metrics ?? ["accuracy", "macroF1"];
  if (metrics.length === 0) throw new Error("summaryTable: metrics must name at least one metric");
  const digits = options.digits ?? 4;
  const showBackbone = options.backbone ?? new Set(rows.map((r) => r.backbone)).size > 1;
  const optionKeys = [...new Set(rows.flatMap((r) => Object.keys(r.options)))].sort();
  return rows.map((r) => {
    const rec: Record<string, unknown> = {};
    if (showBackbone) rec["backbone"] = r.backbone;
    rec["task"] = r.task;
    rec["method"] = r.method;
    for (const k of optionKeys) rec[k] = optionText(r.options[k]);
    rec["n"] = r.n;
    metrics.forEach((m, i) => {
      rec[`${METRIC_TITLES[m]} (mean ± std)`] = meanStd(r[m], digits);
      if (i === 0) rec[`${METRIC_TITLES[m]} 95% CI`] = interval(r[m], digits);
    });
    if (options.cost ?? true) {
      rec["trainable params"] = formatSI(r.trainableParams);
      rec["task storage"] = formatBytes(r.taskBytes);
      rec["ms/step"] = r.msPerStep > 0 ? r.msPerStep.toFixed(1) : "—";
      rec["peak tensor MB"] = (r.peakTensorBytes / 2 ** 20).toFixed(1);
    }
    return rec;
  });
}

/** How a paired difference reads: which side its 95% interval favours, or "no clear difference". */
export function gapVerdict(g: Summary, a: string, b: string): string {
  if (g.n < 2) return "one seed: no interval";
  if (g.ciLow > 0) return `${a} better`;
  if (g.ciHigh < 0) return `${b} better`;
  return "no clear difference (CI spans 0)";
}

/**
 * One record per gap row: [backbone] (shown when rows differ in it, or when asked), task, A's varying options, paired seeds, mean difference A − B, its std,
 * the 95% bootstrap CI and a verdict.
 */
export function gapTable(
  rows: readonly MethodGapRow[],
  names: { a: string; b: string },
  options: { digits?: number; backbone?: boolean } = {},
): TableRecord[] {
  const digits = options.digits ?? 4;
  const showBackbone = options.backbone ?? new Set(rows.map((r) => r.backbone)).size > 1;
  const optionKeys = [...new Set(rows.flatMap((r) => Object.keys(r.options)))].sort();
  const diff = `${names.a} − ${names.b}`;
  return rows.map((g) => {
    const rec: Record<string, unknown> = {};
    if (showBackbone) rec["backbone"] = g.backbone;
    rec["task"] = g.task;
    for (const k of optionKeys) rec[k] = optionText(g.options[k]);
    rec["paired seeds"] = g.n;
    rec[`${diff} (mean)`] = signed(g.mean, digits);
    rec["std"] = g.std.toFixed(digits);
    rec["95% CI"] = `[${signed(g.ciLow, digits)}, ${signed(g.ciHigh, digits)}]`;
    rec["reading"] = gapVerdict(g, names.a, names.b);
    if (g.unpaired > 0) rec["unpaired runs"] = g.unpaired;
    return rec;
  });
}

export interface PivotOptions<R> {
  /** Row label of an item (rows keep first-seen order). */
  readonly row: (item: R) => string;
  /** Column label of an item (columns keep first-seen order). */
  readonly column: (item: R) => string;
  /** Cell text of an item. */
  readonly value: (item: R) => string;
  /** Title of the first column (default "row"). */
  readonly rowTitle?: string;
  /** Text of empty cells (default "—"). */
  readonly empty?: string;
}

/**
 * A two-way table (e.g. position × task with "mean ± std" cells) as table records. Throws if two items share a
 * row and a column, naming both labels, or if a column label is an integer string (object keys would reorder it).
 */
export function pivotTable<R>(items: readonly R[], o: PivotOptions<R>): TableRecord[] {
  const rowTitle = o.rowTitle ?? "row";
  const rows: string[] = [];
  const cols: string[] = [];
  const cells = new Map<string, string>();
  for (const it of items) {
    const r = o.row(it);
    const c = o.column(it);
    if (c === rowTitle)
      throw new Error(`pivotTable: column label '${c}' clashes with the row title; pass another rowTitle`);
    // JS objects list integer-like keys first, whatever the insertion order: the table would come out scrambled.
    if (/^(0|[1-9]\d*)$/.test(c))
      throw new Error(
        `pivotTable: column label '${c}' is an integer, which record keys put first; label it, e.g. '${c} per class'`,
      );
    if (!rows.includes(r)) rows.push(r);
    if (!cols.includes(c)) cols.push(c);
    const key = JSON.stringify([r, c]);
    if (cells.has(key)) throw new Error(`pivotTable: two items for row '${r}', column '${c}'`);
    cells.set(key, o.value(it));
  }
  return rows.map((r) => {
    const rec: Record<string, unknown> = { [rowTitle]: r };
    for (const c of cols) rec[c] = cells.get(JSON.stringify([r, c])) ?? o.empty ?? "—";
    return rec;
  });
}
