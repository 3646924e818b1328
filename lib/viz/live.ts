/**
 * Live training feedback that works everywhere:
 * - ProgressBar: in a notebook, one HTML bar redrawn in place (update_display_data, throttled);
 *   in plain node, a text line on stderr (rewritten with \r on a terminal, one line every few
 *   seconds when stderr is a file or CI log).
 * - LiveCurve: in a notebook, a Plotly learning curve redrawn in place (throttled, downsampled);
 *   outside notebooks it only collects points (figure() returns them for a report).
 *
 * Redraws reach the browser when the training loop yields to the event loop (any `await`, e.g.
 * `await loss.data()`); a loop that never awaits shows the final state only.
 */
import { currentSink, DisplayHandle, DisplaySink } from "./display";
import { Figure, figureBundle } from "./figure";
import { ProgressInfo, progressHtml, progressLine, ProgressSnapshot, ProgressTracker, Throttle } from "./progress";
import { initPlotly } from "./show";

/** Text stream for console progress (process.stderr by default). */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface LiveCurveOptions {
  readonly title?: string;
  readonly xTitle?: string;
  readonly yTitle?: string;
  /** Logarithmic y axis. */
  readonly logY?: boolean;
  /** Min ms between notebook redraws (finish() always redraws). */
  readonly intervalMs?: number;
  /** Points per series sent per redraw; longer series are downsampled evenly (last point kept). */
  readonly maxPoints?: number;
  readonly sink?: DisplaySink;
  /** Clock in ms (default performance.now). */
  readonly now?: () => number;
}

interface CurveSettings {
  title: string;
  xTitle: string;
  yTitle: string;
  logY: boolean;
  intervalMs: number;
  maxPoints: number;
}

export const LIVE_CURVE_DEFAULTS: Readonly<CurveSettings> = Object.freeze({
  title: "learning curve",
  xTitle: "step",
  yTitle: "loss",
  logY: false,
  intervalMs: 1000,
  maxPoints: 1000,
});

interface Series {
  x: number[];
  y: number[];
}

/** Evenly spaced indices into a series of length n, at most `max` of them, always including n-1. */
export function downsampleIndices(n: number, max: number): number[] {
  if (!Number.isInteger(max) || max < 2) throw new Error(`downsampleIndices: max must be an integer >= 2, got ${max}`);
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const out: number[] = [];
  const step = (n - 1) / (max - 1);
  for (let k = 0; k < max; k++) out.push(Math.round(k * step));
  return out;
}

/** A learning curve with one line per named series, redrawn in place in a notebook. */
export class LiveCurve {
  private readonly opts: CurveSettings;
  private readonly series = new Map<string, Series>();
  private readonly sink: DisplaySink;
  private readonly now: () => number;
  private readonly throttle: Throttle;
  private readonly handle: DisplayHandle | null;
  private dirty = false;

  constructor(options: LiveCurveOptions = {}) {
    const d = LIVE_CURVE_DEFAULTS;
    this.opts = {
      title: options.title ?? d.title,
      xTitle: options.xTitle ?? d.xTitle,
      yTitle: options.yTitle ?? d.yTitle,
      logY: options.logY ?? d.logY,
      intervalMs: options.intervalMs ?? d.intervalMs,
      maxPoints: options.maxPoints ?? d.maxPoints,
    };
    if (!Number.isInteger(this.opts.maxPoints) || this.opts.maxPoints < 2) {
      throw new Error(`LiveCurve: maxPoints must be an integer >= 2, got ${this.opts.maxPoints}`);
    }
    this.sink = options.sink ?? currentSink();
    this.now = options.now ?? (() => performance.now());
    this.throttle = new Throttle(this.opts.intervalMs);
    this.handle = this.sink.kind === "console" ? null : new DisplayHandle(this.sink);
  }

  /** Adds point (x, y) to `series` and redraws if the throttle allows. */
  push(series: string, x: number, y: number): void {
    if (!Number.isFinite(x)) throw new Error(`LiveCurve.push('${series}'): x must be finite, got ${x}`);
    if (typeof y !== "number") throw new Error(`LiveCurve.push('${series}'): y must be a number, got ${typeof y}`);
    let s = this.series.get(series);
    if (!s) this.series.set(series, (s = { x: [], y: [] }));
    s.x.push(x);
    s.y.push(y);
    this.dirty = true;
    this.redraw(false);
  }

  /** Current figure (each series downsampled to maxPoints). */
  figure(): Figure {
    const data = [...this.series.entries()].map(([name, s]) => {
      const idx = downsampleIndices(s.x.length, this.opts.maxPoints);
      return { type: "scatter", mode: "lines", name, x: idx.map((i) => s.x[i]), y: idx.map((i) => s.y[i]) };
    });
    return {
      data,
      layout: {
        title: { text: this.opts.title },
        xaxis: { title: { text: this.opts.xTitle } },
        yaxis: { title: { text: this.opts.yTitle }, type: this.opts.logY ? "log" : "linear" },
        margin: { t: 40, r: 20, b: 45, l: 60 },
        height: 320,
      },
    };
  }

  /** Redraws now if anything changed since the last redraw (call at the end of training). */
  finish(): void {
    this.redraw(true);
  }

  private redraw(force: boolean): void {
    if (!this.handle || !this.dirty) return;
    if (!this.throttle.ready(this.now(), force)) return;
    initPlotly({ sink: this.sink });
    this.handle.render(figureBundle(this.figure()));
    this.dirty = false;
  }
}

export interface ProgressBarOptions {
  readonly label?: string;
  /** Min ms between notebook redraws (default 250). */
  readonly notebookIntervalMs?: number;
  /** Min ms between console lines: default 200 on a terminal (line rewritten), 5000 otherwise. */
  readonly consoleIntervalMs?: number;
  /** Also plot the loss as a LiveCurve (true: a new one titled after the label; or pass your own). */
  readonly curve?: boolean | LiveCurve;
  readonly sink?: DisplaySink;
  /** Console target (default process.stderr). */
  readonly stream?: ProgressStream;
  /** Clock in ms (default performance.now). */
  readonly now?: () => number;
}

/** A training progress bar: step/total, loss, tokens/s, elapsed, ETA (see file comment). */
export class ProgressBar {
  private readonly tracker: ProgressTracker;
  private readonly sink: DisplaySink;
  private readonly now: () => number;
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly throttle: Throttle;
  private readonly handle: DisplayHandle | null;
  readonly curve: LiveCurve | null;
  private finished = false;
  private lastLineLength = 0;

  constructor(total: number, options: ProgressBarOptions = {}) {
    this.now = options.now ?? (() => performance.now());
    this.tracker = new ProgressTracker(total, this.now(), options.label ?? "");
    this.sink = options.sink ?? currentSink();
    this.stream = options.stream ?? process.stderr;
    this.tty = this.stream.isTTY === true;
    const notebook = this.sink.kind !== "console";
    const interval = notebook
      ? (options.notebookIntervalMs ?? 250)
      : (options.consoleIntervalMs ?? (this.tty ? 200 : 5000));
    this.throttle = new Throttle(interval);
    this.handle = notebook ? new DisplayHandle(this.sink) : null;
    if (options.curve instanceof LiveCurve) this.curve = options.curve;
    else if (options.curve) {
      this.curve = new LiveCurve({
        title: options.label ? `${options.label}: loss` : "loss",
        sink: this.sink,
        now: this.now,
      });
    } else this.curve = null;
    // Show the empty bar at once where redrawing is cheap (notebook, terminal).
    if (notebook || this.tty) this.render(true);
    else this.throttle.ready(this.now(), true);
  }

  /** Reports that `step` of total steps are done; `info.tokens` counts tokens since the last update. */
  update(step: number, info: ProgressInfo = {}): void {
    if (this.finished)
      throw new Error(
        `ProgressBar${this.tracker.label ? ` '${this.tracker.label}'` : ""}: update(${step}) after finish()`,
      );
    this.tracker.update(step, info, this.now());
    if (this.curve && info.loss !== undefined) this.curve.push(this.tracker.label || "train", step, info.loss);
    this.render(false);
  }

  /** Final redraw (bar marked done, ETA 0); safe to call twice. Optional last metrics. */
  finish(info?: ProgressInfo & { step?: number }): void {
    if (this.finished) return;
    if (info) this.tracker.update(info.step ?? this.tracker.currentStep, info, this.now());
    this.tracker.finish(this.now());
    this.finished = true;
    this.render(true);
    this.curve?.finish();
  }

  snapshot(): ProgressSnapshot {
    return this.tracker.snapshot(this.now());
  }

  private render(force: boolean): void {
    const now = this.now();
    const lastStep = this.finishedStep() && (this.handle !== null || this.tty);
    if (!this.throttle.ready(now, force || lastStep)) return;
    const s = this.tracker.snapshot(now);
    const line = progressLine(s);
    if (this.handle) {
      this.handle.render({ "text/html": progressHtml(s), "text/plain": line });
    } else if (this.tty) {
      const pad = " ".repeat(Math.max(0, this.lastLineLength - line.length));
      this.stream.write(`\r${line}${pad}${s.done ? "\n" : ""}`);
      this.lastLineLength = line.length;
    } else {
      this.stream.write(line + "\n");
    }
  }

  /** At the last step a redraw is forced in place (notebook, terminal), so a run without finish() is not left stale. */
  private finishedStep(): boolean {
    return this.tracker.currentStep === this.tracker.total && !this.finished;
  }
}

/** Convenience: new ProgressBar(total, options). */
export function progressBar(total: number, options: ProgressBarOptions = {}): ProgressBar {
  return new ProgressBar(total, options);
}
