/**
 * Figures and the self-contained HTML report of an experiment grid: accuracy against trainable parameters (log
 * axis), learning curves, and memory and time per step, from run records.
 */
import type { RunRecord } from "../experiment/record";
import { formatSummaryTable, summarizeRecords, SummaryRow } from "../experiment/summary";
import { seriesColor } from "./colors";
import type { Figure } from "./figure";
import { escapeHtml } from "./html";
import { htmlPage, PagePart } from "./page";

/** Method colours are fixed (colors.ts); any other series is coloured by its index among `keys`. */
function colorOf(keys: readonly string[], key: string): string {
  return seriesColor(key, keys.indexOf(key));
}

/** Mean test accuracy (with CI as error bars) against trainable parameters, one trace per method. */
export function accuracyVsParamsFigure(rows: readonly SummaryRow[]): Figure {
  const methods = [...new Set(rows.map((r) => r.method))];
  return {
    data: methods.map((m) => {
      const rs = rows.filter((r) => r.method === m);
      return {
        type: "scatter",
        mode: "markers",
        name: m,
        x: rs.map((r) => Math.max(1, r.trainableParams)),
        y: rs.map((r) => r.accuracy.mean),
        text: rs.map((r) => `${r.task} (${r.backbone}), n=${r.n}`),
        error_y: {
          type: "data",
          symmetric: false,
          array: rs.map((r) => r.accuracy.ciHigh - r.accuracy.mean),
          arrayminus: rs.map((r) => r.accuracy.mean - r.accuracy.ciLow),
        },
        marker: { size: 10, color: colorOf(methods, m) },
      };
    }),
    layout: {
      title: { text: "Test accuracy vs trainable parameters (mean and 95% bootstrap CI over seeds)" },
      xaxis: { type: "log", title: { text: "trainable parameters (zero-shot plotted at 1)" } },
      yaxis: { title: { text: "test accuracy" }, range: [0, 1] },
    },
  };
}

/** Dev accuracy against steps for every training run, coloured by method, one panel row per task. */
export function learningCurvesFigure(records: readonly RunRecord[]): Figure {
  const methods = [...new Set(records.map((r) => r.method))];
  const tasks = [...new Set(records.map((r) => r.task))];
  const shown = new Set<string>();
  const data = records
    .filter((r) => r.curve.some((c) => c.devAccuracy !== undefined))
    .map((r) => {
      const ti = tasks.indexOf(r.task);
      const first = !shown.has(r.method);
      shown.add(r.method);
      const pts = r.curve.filter((c) => c.devAccuracy !== undefined);
      return {
        type: "scatter",
        mode: "lines+markers",
        name: r.method,
        legendgroup: r.method,
        showlegend: first,
        x: pts.map((c) => c.step),
        y: pts.map((c) => c.devAccuracy),
        text: pts.map(() => `${r.task} seed ${r.seed}`),
        line: { color: colorOf(methods, r.method), width: 1 },
        xaxis: `x${ti === 0 ? "" : ti + 1}`,
        yaxis: `y${ti === 0 ? "" : ti + 1}`,
      };
    });
  const layout: Record<string, unknown> = {
    title: { text: "Learning curves: dev accuracy vs optimizer step (every seed)" },
    grid: { rows: tasks.length, columns: 1, pattern: "independent" },
    height: Math.max(360, 220 * tasks.length),
    annotations: tasks.map((t, i) => ({
      text: t,
      showarrow: false,
      xref: "paper",
      yref: `y${i === 0 ? "" : i + 1} domain`,
      x: 0,
      y: 1.08,
      xanchor: "left",
    })),
  };
  return { data, layout };
}

/** Peak tensor memory and milliseconds per step by method (means over tasks and seeds). */
export function costFigure(rows: readonly SummaryRow[]): Figure {
  const methods = [...new Set(rows.map((r) => r.method))];
  const avg = (m: string, f: (r: SummaryRow) => number) => {
    const rs = rows.filter((r) => r.method === m);
    return rs.reduce((s, r) => s + f(r), 0) / rs.length;
  };
  return {
    data: [
      {
        type: "bar",
        name: "peak tensor MB",
        x: methods,
        y: methods.map((m) => avg(m, (r) => r.peakTensorBytes) / 2 ** 20),
        marker: { color: "#1f77b4" },
      },
      {
        type: "bar",
        name: "ms per step",
        x: methods,
        y: methods.map((m) => avg(m, (r) => r.msPerStep)),
        marker: { color: "#ff7f0e" },
        xaxis: "x2",
        yaxis: "y2",
      },
    ],
    layout: {
      title: { text: "Memory and time per training step, by method (mean over tasks and seeds)" },
      grid: { rows: 1, columns: 2, pattern: "independent" },
      yaxis: { title: { text: "peak tensor MB" } },
      yaxis2: { title: { text: "ms per step" } },
    },
  };
}

export interface ReportInput {
  readonly title: string;
  readonly records: readonly RunRecord[];
  readonly command: string;
  readonly notes?: readonly string[];
}

/** A self-contained HTML page (plotly.js inlined once) with the summary table and the three figures. */
export function experimentReportHtml(input: ReportInput): string {
  const rows = summarizeRecords(input.records);
  const backends = [
    ...new Set(
      input.records.map(
        (r) => `${r.backend.name} ${r.backend.version}${r.backend.kernels ? ` + ${r.backend.kernels} kernels` : ""}`,
      ),
    ),
  ].join(", ");
  const parts: PagePart[] = [
    { kind: "text", text: `${input.records.length} runs; backend ${backends}. Command: ${input.command}` },
    ...(input.notes ?? []).map((n) => ({ kind: "text" as const, text: n })),
    { kind: "heading", text: "Summary (test split; mean ± std over seeds, 95% bootstrap CI)" },
    { kind: "html", html: `<pre style="font-size:12px;overflow-x:auto">${escapeHtml(formatSummaryTable(rows))}</pre>` },
    { kind: "figure", figure: accuracyVsParamsFigure(rows) },
    { kind: "figure", figure: learningCurvesFigure(input.records) },
    { kind: "figure", figure: costFigure(rows.filter((r) => r.msPerStep > 0)) },
  ];
  return htmlPage({ title: input.title, parts });
}
