/**
 * Colours of figure traces. The kit's methods always get the same colour, in every figure of every notebook and
 * report (prompt tuning is blue in the bar chart and in the accuracy-vs-parameters plot alike); any other series
 * (tasks, backbones, options) takes the palette in order.
 */
export const PALETTE: readonly string[] = Object.freeze([
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#ff7f0e",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#17becf",
]);

/** Fixed colours of the registered tuning methods. */
export const METHOD_COLORS: Readonly<Record<string, string>> = Object.freeze({
  "zero-shot": "#7f7f7f",
  "calibrated-zero-shot": "#bcbd22",
  "head-only": "#2ca02c",
  "prompt-tuning": "#1f77b4",
  "deep-prompt-tuning": "#ff7f0e",
  "prefix-tuning": "#9467bd",
  "full-finetune": "#d62728",
});

/** The colour of series `name`, the i-th series of its figure: a method's own colour, else PALETTE[i]. */
export function seriesColor(name: string, i: number): string {
  return METHOD_COLORS[name] ?? PALETTE[i % PALETTE.length]!;
}
