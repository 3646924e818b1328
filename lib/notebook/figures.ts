/**
 * Plotly figures for the research notebooks, built from summary rows, gap rows and learning curves:
 * a metric against any x (line or grouped bars) with 95% bootstrap intervals as error bars, a paired gap
 * against any x with its interval and the zero line, storage per task, and one run's training curve.
 * Pure functions returning figure data; show them with viz.showFigure.
 */
import type { MethodGapRow } from "../experiment/gaps";
import type { CurvePoint } from "../experiment/record";
import type { MetricName, SummaryRow } from "../experiment/summary";
import type { Summary } from "../eval/stats";
import type { Figure, PlotlyTrace } from "../viz/figure";

import { PALETTE, seriesColor } from "../viz/colors";
import { formatBytes } from "../io/format";

export { PALETTE };

export type AxisType = "linear" | "log" | "category";

/** A horizontal reference line, e.g. zero-shot accuracy or chance. */
export interface Reference {
  readonly name: string;
  readonly y: number;
}

export interface MetricFigureOptions {
  /** x value of a row: a number (linear/log axis) or a category name. */
  readonly x: (row: SummaryRow) => number | string;
  /** Series (legend entry) of a row, e.g. its method. */
  readonly series: (row: SummaryRow) => string;
  readonly title: string;
  readonly xTitle: string;
  readonly metric?: MetricName;
  /** "line" (default) or grouped "bar". */
  readonly kind?: "line" | "bar";
  /** Default: "category" if any x is a string, else "linear". */
  readonly xType?: AxisType;
  readonly yTitle?: string;
  /** y axis range (default [0, 1] for metrics; null: automatic). */
  readonly yRange?: readonly [number, number] | null;
  readonly references?: readonly Reference[];
  readonly height?: number;
}

function errorBars(summaries: readonly Summary[]): Record<string, unknown> {
  return {
    type: "data",
    symmetric: false,
    array: summaries.map((s) => Math.max(0, s.ciHigh - s.mean)),
    arrayminus: summaries.map((s) => Math.max(0, s.mean - s.ciLow)),
    visible: true,
  };
}

/** Sorts x values: numbers ascending, strings in first-seen order after numbers. */
function orderX<T>(items: readonly T[], x: (t: T) => number | string): T[] {
  const firstSeen = new Map<string, number>();
  items.forEach((t, i) => {
    const v = x(t);
    if (typeof v === "string" && !firstSeen.has(v)) firstSeen.set(v, i);
  });
  return [...items].sort((a, b) => {
    const xa = x(a);
    const xb = x(b);
    if (typeof xa === "number" && typeof xb === "number") return xa - xb;
    if (typeof xa === "number") return -1;
    if (typeof xb === "number") return 1;
    return firstSeen.get(xa)! - firstSeen.get(xb)!;
  });
}

/** Throws if two rows of one series share an x value (the plot would hide one of them). */
function checkUniqueX<T>(rows: readonly T[], x: (t: T) => number | string, where: string, series: string): void {
  const seen = new Set<string>();
  for (const r of rows) {
    const key = String(x(r));
    if (seen.has(key))
      throw new Error(`${where}: series '${series}' has two rows at x=${key}; add the differing option to series or x`);
    seen.add(key);
  }
}

function referenceShapes(refs: readonly Reference[]): { shapes: unknown[]; annotations: unknown[] } {
  return {
    shapes: refs.map((r, i) => ({
      type: "line",
      xref: "paper",
      x0: 0,
      x1: 1,
      y0: r.y,
      y1: r.y,
      line: { dash: "dot", width: 1.5, color: ["#555", "#999", "#bbb"][i % 3] },
    })),
    // Labels alternate between the right and left ends, so two close lines do not print over each other.
    annotations: refs.map((r, i) => ({
      xref: "paper",
      x: i % 2 === 0 ? 1 : 0,
      xanchor: i % 2 === 0 ? "right" : "left",
      y: r.y,
      yanchor: "bottom",
      text: r.name,
      showarrow: false,
      font: { size: 11, color: "#555" },
    })),
  };
}

/**
 * Mean of a metric per row against x, one trace per series, with the 95% bootstrap CI over seeds as error bars
 * (a single seed has a zero-width interval). Throws if two rows of one series share an x (ambiguous points).
 */
export function metricFigure(rows: readonly SummaryRow[], o: MetricFigureOptions): Figure {
  const metric = o.metric ?? "accuracy";
  const kind = o.kind ?? "line";
  const xType: AxisType = o.xType ?? (rows.some((r) => typeof o.x(r) === "string") ? "category" : "linear");
  const names = [...new Set(rows.map(o.series))];
  const data: PlotlyTrace[] = names.map((name, i) => {
    const rs = orderX(
      rows.filter((r) => o.series(r) === name),
      o.x,
    );
    checkUniqueX(rs, o.x, `metricFigure '${o.title}'`, name);
    const s = rs.map((r) => r[metric]);
    return {
      type: kind === "bar" ? "bar" : "scatter",
      ...(kind === "line" ? { mode: xType === "category" ? "markers" : "lines+markers" } : {}),
      name,
      x: rs.map((r) => o.x(r)),
      y: s.map((v) => v.mean),
      // hovertext, not text: bar traces would print text inside every bar.
      hovertext: rs.map((r) => `${r.task} (${r.backbone}), n=${r.n}`),
      error_y: errorBars(s),
      marker: { color: seriesColor(name, i) },
      ...(kind === "line" ? { line: { color: seriesColor(name, i) } } : {}),
    };
  });
  const refs = referenceShapes(o.references ?? []);
  const yRange = o.yRange === undefined ? [0, 1] : o.yRange;
  return {
    data,
    layout: {
      title: { text: o.title },
      xaxis: { title: { text: o.xTitle }, type: xType },
      yaxis: { title: { text: o.yTitle ?? `test ${metric}` }, ...(yRange ? { range: [...yRange] } : {}) },
      ...(kind === "bar" ? { barmode: "group" } : {}),
      shapes: refs.shapes,
      annotations: refs.annotations,
      height: o.height ?? 420,
    },
  };
}

export interface GapFigureOptions {
  readonly x: (row: MethodGapRow) => number | string;
  /** Series of a row (default: its task). */
  readonly series?: (row: MethodGapRow) => string;
  readonly title: string;
  readonly xTitle: string;
  /** e.g. "prompt-tuning − full-finetune (accuracy)". */
  readonly yTitle: string;
  readonly xType?: AxisType;
}

/** Paired difference A − B against x with its 95% CI, one trace per series (markers only on a category axis), and a zero line. */
export function gapFigure(rows: readonly MethodGapRow[], o: GapFigureOptions): Figure {
  const series = o.series ?? ((r: MethodGapRow) => r.task);
  const xType: AxisType = o.xType ?? (rows.some((r) => typeof o.x(r) === "string") ? "category" : "linear");
  const names = [...new Set(rows.map(series))];
  const data: PlotlyTrace[] = names.map((name, i) => {
    const rs = orderX(
      rows.filter((r) => series(r) === name),
      o.x,
    );
    checkUniqueX(rs, o.x, `gapFigure '${o.title}'`, name);
    return {
      type: "scatter",
      // Lines between categories (e.g. tasks) would suggest a trend that is not there.
      mode: xType === "category" ? "markers" : "lines+markers",
      name,
      x: rs.map((r) => o.x(r)),
      y: rs.map((r) => r.mean),
      hovertext: rs.map((r) => `${r.n} paired seed(s)`),
      error_y: errorBars(rs),
      marker: { color: PALETTE[i % PALETTE.length], size: 9 },
      line: { color: PALETTE[i % PALETTE.length] },
    };
  });
  const zero = referenceShapes([{ name: "no difference", y: 0 }]);
  return {
    data,
    layout: {
      title: { text: o.title },
      xaxis: { title: { text: o.xTitle }, type: xType },
      yaxis: { title: { text: o.yTitle }, zeroline: true },
      shapes: zero.shapes,
      annotations: zero.annotations,
      height: 400,
    },
  };
}

/** Bytes each method must store per task (mean over rows), as bars on a log axis. */
export function storageFigure(
  rows: readonly SummaryRow[],
  title = "Storage per task: what must be saved besides the shared backbone",
): Figure {
  const methods = [...new Set(rows.map((r) => r.method))].filter((m) =>
    rows.some((r) => r.method === m && r.taskBytes > 0),
  );
  const bytes = methods.map((m) => {
    const rs = rows.filter((r) => r.method === m);
    return rs.reduce((s, r) => s + r.taskBytes, 0) / rs.length;
  });
  return {
    data: [
      {
        type: "bar",
        x: methods,
        y: bytes,
        text: bytes.map(formatBytes),
        textposition: "outside",
        cliponaxis: false,
        marker: { color: methods.map((m, i) => seriesColor(m, i)) },
      },
    ],
    layout: {
      title: { text: title },
      yaxis: { type: "log", title: { text: "bytes per task (log scale)" } },
      xaxis: { title: { text: "method" } },
      height: 380,
    },
  };
}

/** One run's curve: training loss (left axis) and dev accuracy at each evaluation (right axis). */
export function trainingCurveFigure(
  curve: readonly CurvePoint[],
  title: string,
  references: readonly Reference[] = [],
): Figure {
  const dev = curve.filter((c) => c.devAccuracy !== undefined);
  const loss = curve.filter((c) => Number.isFinite(c.trainLoss));
  const refs = referenceShapes(references.map((r) => r));
  return {
    data: [
      {
        type: "scatter",
        mode: "lines+markers",
        name: "training loss (mean since last eval)",
        x: loss.map((c) => c.step),
        y: loss.map((c) => c.trainLoss),
        marker: { color: PALETTE[0] },
      },
      {
        type: "scatter",
        mode: "lines+markers",
        name: "dev accuracy",
        x: dev.map((c) => c.step),
        y: dev.map((c) => c.devAccuracy),
        yaxis: "y2",
        marker: { color: PALETTE[1] },
      },
    ],
    layout: {
      title: { text: title },
      xaxis: { title: { text: "optimizer step" } },
      yaxis: { title: { text: "training loss" } },
      yaxis2: { title: { text: "dev accuracy" }, overlaying: "y", side: "right", range: [0, 1] },
      // Reference lines belong to the accuracy axis.
      shapes: refs.shapes.map((s) => ({ ...(s as object), yref: "y2" })),
      annotations: refs.annotations.map((a) => ({ ...(a as object), yref: "y2" })),
      legend: { orientation: "h", y: -0.2 },
      height: 380,
    },
  };
}
