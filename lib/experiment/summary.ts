/**
 * Across-seed summaries of run records: one row per (backbone, task, method, + every config option
 * whose value varies among the records), with mean, sample std and bootstrap CI of each test metric
 * (lib/eval/stats.ts), plus cost columns (means over the group's runs). Output as rows, as
 * summary.csv text, or as an aligned plain-text table for the console.
 *
 * Grouping details:
 * - Option keys are the config keys other than backbone/task/method/seed. A key "varies" if two
 *   records differ in it (a key missing from some records, e.g. promptLength for full fine-tuning,
 *   varies too; those rows show it empty). Keys constant across all records are not shown.
 * - Records are deduplicated by cellId (first kept, with a warning); a group whose records come from
 *   different backbone fingerprints under one backbone name gets a warning (the checkpoint changed).
 * - Bootstrap seeds derive from the group key and metric, so a row's CI does not depend on the order
 *   of the records or on which other groups exist.
 * - Rows are sorted by backbone, task, method, then option values (numbers numerically).
 */
import { seedFromString } from "../backend/random";
import { summarize, type BootstrapOptions, type Summary } from "../eval/stats";
import { formatBytes, formatSI } from "../io/format";
import { canonicalJson } from "./cell-id";
import { RESERVED_CONFIG_KEYS } from "./grid";
import type { RunRecord } from "./record";

/** Re-exported for callers of the summary table (lib/io/format holds it). */
export { formatBytes };

export const METRIC_NAMES = Object.freeze(["accuracy", "macroF1", "mcc"] as const);
export type MetricName = (typeof METRIC_NAMES)[number];

export interface SummaryRow {
  backbone: string;
  task: string;
  method: string;
  /** Values of the varying option keys for this group (undefined where the group lacks the key). */
  options: Record<string, unknown>;
  /** Number of runs (seeds) in the group. */
  n: number;
  seeds: number[];
  accuracy: Summary;
  macroF1: Summary;
  mcc: Summary;
  /** Means over the group's runs. */
  trainableParams: number;
  taskBytes: number;
  peakTensorBytes: number;
  msPerStep: number;
  tokensPerSecond: number;
  wallSeconds: number;
}

export interface SummarizeOptions {
  /** Mixed into every group's bootstrap seed (default 0). */
  seed?: number;
  /** Bootstrap level/resamples (defaults: 0.95, 10000). */
  bootstrap?: Omit<BootstrapOptions, "seed">;
  onWarning?: (message: string) => void;
}

/** Config keys (other than backbone/task/method/seed) whose values differ among the records, sorted. */
export function varyingOptionKeys(records: readonly RunRecord[]): string[] {
  const keys = new Set<string>();
  for (const r of records) for (const k of Object.keys(r.config)) if (!RESERVED_CONFIG_KEYS.includes(k)) keys.add(k);
  return [...keys].filter((k) => new Set(records.map((r) => valueKey(r.config[k]))).size > 1).sort();
}

/** Groups records and summarises each metric across seeds; see the file comment. */
export function summarizeRecords(records: readonly RunRecord[], options: SummarizeOptions = {}): SummaryRow[] {
  const warn = options.onWarning ?? ((m: string) => console.warn(m));
  const baseSeed = options.seed ?? 0;
  if (!Number.isInteger(baseSeed)) throw new Error(`summarizeRecords: seed must be an integer, got ${baseSeed}`);
  const unique = dedupe(records, warn);
  const optionKeys = varyingOptionKeys(unique);
  const groups = new Map<string, RunRecord[]>();
  for (const r of unique) {
    const key = groupKey(r, optionKeys);
    const list = groups.get(key);
    if (list) list.push(r);
    else groups.set(key, [r]);
  }
  const rows: SummaryRow[] = [];
  for (const [key, group] of groups) {
    const first = group[0]!;
    const fingerprints = new Set(group.map((r) => r.backbone.fingerprint));
    if (fingerprints.size > 1) {
      warn(
        `summary: group ${describeGroup(first, optionKeys)} mixes ${fingerprints.size} backbone fingerprints under the name "${first.backbone.name}"`,
      );
    }
    const seeds = group.map((r) => r.seed).sort((a, b) => a - b);
    const stat = (m: MetricName): Summary =>
      summarize(
        group.map((r) => r.metrics[m]),
        seedFromString(`${key}|${m}|${baseSeed}`),
        options.bootstrap,
      );
    const avg = (f: (r: RunRecord) => number): number => group.reduce((s, r) => s + f(r), 0) / group.length;
    const opts: Record<string, unknown> = {};
    for (const k of optionKeys) opts[k] = first.config[k];
    rows.push({
      backbone: first.backbone.name,
      task: first.task,
      method: first.method,
      options: opts,
      n: group.length,
      seeds,
      accuracy: stat("accuracy"),
      macroF1: stat("macroF1"),
      mcc: stat("mcc"),
      trainableParams: avg((r) => r.trainableParams),
      taskBytes: avg((r) => r.taskBytes),
      peakTensorBytes: avg((r) => r.peakTensorBytes),
      msPerStep: avg((r) => r.msPerStep),
      tokensPerSecond: avg((r) => r.tokensPerSecond),
      wallSeconds: avg((r) => r.wallSeconds),
    });
  }
  return rows.sort((a, b) => compareRows(a, b, optionKeys));
}

/**
 * summary.csv text: header row, one line per row, "\n" line ends. Metrics with 4 decimals, ms/step
 * with 2, tokens/s and seconds with 1, counts as integers (1 decimal if runs disagreed). Option
 * values: strings as-is, other values as JSON, empty where absent. RFC 4180 quoting.
 */
export function toCsv(rows: readonly SummaryRow[]): string {
  const optionKeys = optionKeysOf(rows);
  const fixedCols = ["backbone", "task", "method"];
  const optionCols = optionKeys.map((k) => (fixedCols.includes(k) || CSV_STAT_COLUMNS.includes(k) ? `option.${k}` : k));
  const header = [...fixedCols, ...optionCols, ...CSV_STAT_COLUMNS];
  const lines = [header.map(csvField).join(",")];
  for (const r of rows) {
    const cells: string[] = [
      r.backbone,
      r.task,
      r.method,
      ...optionKeys.map((k) => optionText(r.options[k])),
      String(r.n),
      r.seeds.join(" "),
    ];
    for (const m of METRIC_NAMES) {
      const s = r[m];
      cells.push(...[s.mean, s.std, s.ciLow, s.ciHigh].map((x) => x.toFixed(4)));
    }
    cells.push(
      count(r.trainableParams),
      count(r.taskBytes),
      count(r.peakTensorBytes),
      r.msPerStep.toFixed(2),
      r.tokensPerSecond.toFixed(1),
      r.wallSeconds.toFixed(1),
    );
    lines.push(cells.map(csvField).join(","));
  }
  return lines.join("\n") + "\n";
}

const CSV_STAT_COLUMNS: string[] = [
  "n",
  "seeds",
  ...METRIC_NAMES.flatMap((m) => [`${m}_mean`, `${m}_std`, `${m}_ci_low`, `${m}_ci_high`]),
  "trainable_params",
  "task_bytes",
  "peak_tensor_bytes",
  "ms_per_step",
  "tokens_per_second",
  "wall_seconds",
];

/**
 * Aligned plain-text table: [backbone, if several], task, method, varying options, n,
 * accuracy "mean ± std [ci low, ci high]", macroF1 and mcc "mean ± std", trainable params,
 * task bytes, ms/step. Text columns left-aligned, numeric ones right-aligned.
 */
export function formatSummaryTable(rows: readonly SummaryRow[]): string {
  if (rows.length === 0) return "(no results)";
  const optionKeys = optionKeysOf(rows);
  const showBackbone = new Set(rows.map((r) => r.backbone)).size > 1;
  const pm = (s: Summary): string => `${s.mean.toFixed(4)} ± ${s.std.toFixed(4)}`;
  const columns: { title: string; right: boolean; cell: (r: SummaryRow) => string }[] = [
    ...(showBackbone ? [{ title: "backbone", right: false, cell: (r: SummaryRow) => r.backbone }] : []),
    { title: "task", right: false, cell: (r) => r.task },
    { title: "method", right: false, cell: (r) => r.method },
    ...optionKeys.map((k) => ({ title: k, right: true, cell: (r: SummaryRow) => optionText(r.options[k]) })),
    { title: "n", right: true, cell: (r) => String(r.n) },
    {
      title: "accuracy mean ± std [95% CI]",
      right: true,
      cell: (r) => `${pm(r.accuracy)} [${r.accuracy.ciLow.toFixed(4)}, ${r.accuracy.ciHigh.toFixed(4)}]`,
    },
    { title: "macroF1", right: true, cell: (r) => pm(r.macroF1) },
    { title: "mcc", right: true, cell: (r) => pm(r.mcc) },
    { title: "params", right: true, cell: (r) => formatSI(r.trainableParams) },
    { title: "task bytes", right: true, cell: (r) => formatBytes(r.taskBytes) },
    { title: "ms/step", right: true, cell: (r) => r.msPerStep.toFixed(1) },
  ];
  const table = [columns.map((c) => c.title), ...rows.map((r) => columns.map((c) => c.cell(r)))];
  const widths = columns.map((_, j) => Math.max(...table.map((row) => [...row[j]!].length)));
  const render = (row: string[]): string =>
    row
      .map((text, j) => (columns[j]!.right ? text.padStart(widths[j]!) : text.padEnd(widths[j]!)))
      .join("  ")
      .trimEnd();
  const lines = table.map(render);
  lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  return lines.join("\n");
}

function dedupe(records: readonly RunRecord[], warn: (m: string) => void): RunRecord[] {
  const seen = new Set<string>();
  const out: RunRecord[] = [];
  for (const r of records) {
    if (seen.has(r.cellId)) {
      warn(
        `summary: cell ${r.cellId} (${r.task}/${r.method} seed ${r.seed}) appears more than once; keeping the first`,
      );
      continue;
    }
    seen.add(r.cellId);
    out.push(r);
  }
  return out;
}

const ABSENT = "\u0000absent";

function valueKey(v: unknown): string {
  return v === undefined ? ABSENT : canonicalJson(v);
}

function groupKey(r: RunRecord, optionKeys: readonly string[]): string {
  return canonicalJson([r.backbone.name, r.task, r.method, ...optionKeys.map((k) => valueKey(r.config[k]))]);
}

function describeGroup(r: RunRecord, optionKeys: readonly string[]): string {
  return [`${r.backbone.name}/${r.task}/${r.method}`, ...optionKeys.map((k) => `${k}=${optionText(r.config[k])}`)].join(
    " ",
  );
}

function optionKeysOf(rows: readonly SummaryRow[]): string[] {
  const keys = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.options)) keys.add(k);
  return [...keys].sort();
}

function optionText(v: unknown): string {
  if (v === undefined) return "";
  return typeof v === "string" ? v : canonicalJson(v);
}

function count(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function compareRows(a: SummaryRow, b: SummaryRow, optionKeys: readonly string[]): number {
  const byText = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
  let c = byText(a.backbone, b.backbone) || byText(a.task, b.task) || byText(a.method, b.method);
  for (const k of optionKeys) {
    if (c !== 0) break;
    c = compareValues(a.options[k], b.options[k]);
  }
  return c;
}

/** Sort order of option values: absent < numbers (numerically) < everything else (by canonical JSON). */
export function compareValues(x: unknown, y: unknown): number {
  const rank = (v: unknown): number => (v === undefined ? 0 : typeof v === "number" ? 1 : 2);
  const rx = rank(x);
  const ry = rank(y);
  if (rx !== ry) return rx - ry;
  if (rx === 0) return 0;
  if (rx === 1) return (x as number) - (y as number);
  const sx = canonicalJson(x);
  const sy = canonicalJson(y);
  return sx < sy ? -1 : sx > sy ? 1 : 0;
}
