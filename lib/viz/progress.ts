/**
 * Pure training-progress model: step/total, latest loss, tokens/s, elapsed and ETA, rendered as a
 * text line or an HTML bar. Time is passed in (milliseconds), so everything here is deterministic
 * and unit-tested; live.ts wires it to the clock and to a notebook output or stderr.
 */
import { formatDuration, formatNumber, formatSI } from "../io/format";
import { escapeHtml } from "./html";

/** What a training loop reports at a step. */
export interface ProgressInfo {
  /** Latest training loss. */
  readonly loss?: number;
  /** Tokens processed since the previous update (added to the running total for tokens/s). */
  readonly tokens?: number;
  /** Any other named metrics to show, e.g. { lr: 1e-3, acc: 0.71 }. */
  readonly metrics?: Readonly<Record<string, number>>;
}

/** Everything a renderer needs; NaN means "not known yet". */
export interface ProgressSnapshot {
  readonly label: string;
  readonly step: number;
  readonly total: number;
  /** step / total in [0, 1]. */
  readonly fraction: number;
  readonly elapsedSec: number;
  /** Remaining seconds extrapolated from the average step rate so far. */
  readonly etaSec: number;
  readonly stepsPerSec: number;
  readonly tokensPerSec: number;
  readonly loss: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly done: boolean;
}

/** Accumulates updates; the caller supplies timestamps in ms (e.g. performance.now()). */
export class ProgressTracker {
  readonly label: string;
  readonly total: number;
  private readonly startMs: number;
  private step = 0;
  private tokens = 0;
  private loss = NaN;
  private metrics: Record<string, number> = {};
  private lastMs: number;
  private finished = false;

  constructor(total: number, startMs: number, label = "") {
    if (!Number.isInteger(total) || total < 1) {
      throw new Error(`ProgressTracker: total must be a positive integer number of steps, got ${total}`);
    }
    if (!Number.isFinite(startMs)) throw new Error(`ProgressTracker: start time must be finite ms, got ${startMs}`);
    this.total = total;
    this.startMs = startMs;
    this.lastMs = startMs;
    this.label = label;
  }

  /** Records that `step` steps (of total) are complete at time `nowMs`. */
  update(step: number, info: ProgressInfo, nowMs: number): void {
    if (!Number.isInteger(step) || step < 0 || step > this.total) {
      throw new Error(
        `progress${this.label ? ` '${this.label}'` : ""}: step must be an integer in 0..${this.total}, got ${step}`,
      );
    }
    if (info.tokens !== undefined && (!Number.isFinite(info.tokens) || info.tokens < 0)) {
      throw new Error(
        `progress: tokens must be a non-negative count (tokens since the previous update), got ${info.tokens}`,
      );
    }
    this.step = step;
    this.lastMs = Math.max(this.lastMs, nowMs);
    if (info.tokens !== undefined) this.tokens += info.tokens;
    if (info.loss !== undefined) this.loss = info.loss;
    if (info.metrics) this.metrics = { ...this.metrics, ...info.metrics };
  }

  /** Marks the run finished (the ETA becomes 0 and the bar shows "done"). */
  finish(nowMs: number): void {
    this.lastMs = Math.max(this.lastMs, nowMs);
    this.finished = true;
  }

  get currentStep(): number {
    return this.step;
  }

  snapshot(nowMs: number = this.lastMs): ProgressSnapshot {
    const elapsedSec = Math.max(0, (nowMs - this.startMs) / 1000);
    const stepsPerSec = this.step > 0 && elapsedSec > 0 ? this.step / elapsedSec : NaN;
    const remaining = this.total - this.step;
    const etaSec = this.finished || remaining === 0 ? 0 : remaining / stepsPerSec;
    return {
      label: this.label,
      step: this.step,
      total: this.total,
      fraction: this.step / this.total,
      elapsedSec,
      etaSec,
      stepsPerSec,
      tokensPerSec: this.tokens > 0 && elapsedSec > 0 ? this.tokens / elapsedSec : NaN,
      loss: this.loss,
      metrics: { ...this.metrics },
      done: this.finished,
    };
  }
}

/** Text bar of `width` cells: "#########---------". */
export function textBar(fraction: number, width: number): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.round(f * width);
  return "#".repeat(filled) + "-".repeat(width - filled);
}

function statParts(s: ProgressSnapshot): string[] {
  const parts: string[] = [];
  if (!Number.isNaN(s.loss)) parts.push(`loss ${formatNumber(s.loss)}`);
  for (const [k, v] of Object.entries(s.metrics)) parts.push(`${k} ${formatNumber(v)}`);
  if (!Number.isNaN(s.tokensPerSec)) parts.push(`${formatSI(s.tokensPerSec)} tok/s`);
  else if (!Number.isNaN(s.stepsPerSec)) parts.push(`${formatSI(s.stepsPerSec)} step/s`);
  parts.push(`${formatDuration(s.elapsedSec)} elapsed`);
  parts.push(s.done ? "done" : `ETA ${formatDuration(s.etaSec)}`);
  return parts;
}

/**
 * One-line text rendering, e.g.
 * "train [#####---------------]  25% 50/200 | loss 2.3456 | 12.3k tok/s | 0:10 elapsed | ETA 0:30".
 */
export function progressLine(s: ProgressSnapshot, width = 20): string {
  const pct = `${Math.floor(s.fraction * 100)}%`.padStart(4);
  const head = `${s.label ? s.label + " " : ""}[${textBar(s.fraction, width)}] ${pct} ${s.step}/${s.total}`;
  return [head, ...statParts(s)].join(" | ");
}

/** HTML rendering: a bar (CSS, no script) with the same statistics as progressLine. */
export function progressHtml(s: ProgressSnapshot): string {
  const pct = Math.min(100, Math.max(0, s.fraction * 100));
  const color = s.done ? "#3a9d4a" : "#3b7dd8";
  const label = s.label ? `<b>${escapeHtml(s.label)}</b> ` : "";
  return (
    `<div class="kit-progress" style="font:13px/1.4 -apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:4px 0">` +
    `<div style="display:flex;align-items:center;gap:10px">${label}` +
    `<div style="flex:0 0 320px;height:14px;background:#e6e6e6;border-radius:3px;overflow:hidden">` +
    `<div style="width:${pct.toFixed(1)}%;height:100%;background:${color}"></div></div>` +
    `<span style="font-variant-numeric:tabular-nums">${Math.floor(pct)}% ${s.step}/${s.total}</span></div>` +
    `<div style="color:#444;font-variant-numeric:tabular-nums">${escapeHtml(statParts(s).join(" · "))}</div></div>`
  );
}

/** Lets an event through at most once per interval (forced events always pass). */
export class Throttle {
  private last = -Infinity;
  constructor(readonly intervalMs: number) {
    if (!(intervalMs >= 0) || !Number.isFinite(intervalMs)) {
      throw new Error(`Throttle: interval must be a finite number of ms >= 0, got ${intervalMs}`);
    }
  }

  /** True if an event at `nowMs` should be emitted; records it as emitted when true. */
  ready(nowMs: number, force = false): boolean {
    if (!force && nowMs - this.last < this.intervalMs) return false;
    this.last = nowMs;
    return true;
  }
}
