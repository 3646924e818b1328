/**
 * Notebook-facing display calls: figures, tables, raw HTML. In a tslab notebook each call adds one
 * output to the running cell; in plain node it prints the text/plain form to stdout.
 */
import { currentSink, DisplayHandle, DisplaySink } from "./display";
import { Figure, figureBundle, plotlyLibrary, plotlyLibraryHtml } from "./figure";
import { escapeHtml } from "./html";
import { renderTable, TableInput, TableOptions } from "./table";

/** Kernel processes that already received plotly.js, per sink (a kernel restart resets this). */
const plotlyLoaded = new WeakSet<DisplaySink>();

/**
 * Inlines plotly.js (~4.8 MB) into the notebook as one output, so later figures are small divs.
 * showFigure calls this automatically the first time; call it explicitly in an early cell to keep
 * the library out of the figure cells. `force` inlines again (e.g. after clearing that cell's
 * output). Does nothing outside notebooks.
 */
export function initPlotly(options: { force?: boolean; sink?: DisplaySink } = {}): void {
  const sink = options.sink ?? currentSink();
  if (sink.kind === "console") return;
  if (plotlyLoaded.has(sink) && !options.force) return;
  const { version } = plotlyLibrary();
  const note = `plotly.js ${version} loaded for this notebook`;
  sink.show({
    "text/html": `${plotlyLibraryHtml()}<div style="color:#888;font:12px sans-serif">${escapeHtml(note)}</div>`,
    "text/plain": note,
  });
  plotlyLoaded.add(sink);
}

/** True once initPlotly sent the library through `sink` (default: the current sink). */
export function plotlyInitialized(sink: DisplaySink = currentSink()): boolean {
  return plotlyLoaded.has(sink);
}

/**
 * An output slot for a figure that is redrawn in place (e.g. a curve that grows during training):
 * `const slot = new FigureHandle(); slot.render(fig1); … slot.render(fig2);`
 */
export class FigureHandle {
  private readonly handle: DisplayHandle;
  constructor(sink: DisplaySink = currentSink()) {
    this.handle = new DisplayHandle(sink);
  }
  get id(): string {
    return this.handle.id;
  }
  /** Draws `fig`, replacing what this handle showed before. */
  render(fig: Figure): void {
    if (this.handle.sink.kind !== "console") initPlotly({ sink: this.handle.sink });
    this.handle.render(figureBundle(fig));
  }
}

/**
 * Shows a Plotly figure: one output with Plotly JSON + HTML (div + Plotly.newPlot) + text summary.
 * Returns nothing, so a bare `showFigure(…)` as a cell's last line prints no extra value; use
 * FigureHandle to redraw a figure in place.
 */
export function showFigure(fig: Figure, options: { sink?: DisplaySink } = {}): void {
  new FigureHandle(options.sink ?? currentSink()).render(fig);
}

/** Shows records or a danfojs DataFrame as a styled HTML table (text table outside notebooks). */
export function showTable(input: TableInput, options: TableOptions & { sink?: DisplaySink } = {}): void {
  const { html, text } = renderTable(input, options);
  (options.sink ?? currentSink()).show({ "text/html": html, "text/plain": text });
}

/** Shows an HTML fragment, with `text` as the plain-text fallback. */
export function showHtml(html: string, text = "[HTML output]", options: { sink?: DisplaySink } = {}): void {
  (options.sink ?? currentSink()).show({ "text/html": html, "text/plain": text });
}
