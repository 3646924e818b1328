/**
 * Classification metrics over plain arrays of label indices (gold[i], pred[i] in 0..numClasses-1).
 * Pure functions, no tensors: the trainer turns logits into argmax indices and calls these.
 *
 * Conventions (fixed here so every run is scored the same way):
 * - Empty inputs are an error (a metric of zero examples is meaningless, and silently returning 0 or
 *   NaN would hide a broken split).
 * - macroF1: per-class F1 = 2TP / (2TP + FP + FN), averaged over the classes that occur in gold or
 *   pred. A class with no gold and no predicted examples has F1 = 0/0 and is EXCLUDED from the
 *   average (so a 3-class task whose test split only holds 2 classes, none predicted as the third,
 *   is averaged over 2). A class that occurs but has TP = 0 (precision + recall = 0) counts as F1 = 0.
 * - mcc: multiclass Matthews correlation, Gorodkin (2004) R_K statistic computed from the confusion
 *   matrix; equals the usual binary MCC for 2 classes. When it is undefined (all predictions in one
 *   class, or all gold labels in one class: a zero in the denominator) it is reported as 0.
 */
import { mean } from "./stats";

/** Label indices: number[], Int32Array, ... */
export type Labels = ArrayLike<number>;

/** The three headline metrics recorded for every run (all in [0,1] except mcc in [-1,1]). */
export interface ClassificationMetrics {
  accuracy: number;
  macroF1: number;
  mcc: number;
}

/**
 * counts[g][p] = number of examples with gold label g predicted as p. Shape [numClasses][numClasses],
 * rows are gold, columns are predictions.
 */
export function confusionMatrix(gold: Labels, pred: Labels, numClasses: number): number[][] {
  checkPair("confusionMatrix", gold, pred, numClasses);
  const m: number[][] = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < gold.length; i++) m[gold[i]!]![pred[i]!]!++;
  return m;
}

/** Fraction of examples with pred[i] === gold[i], in [0, 1]. */
export function accuracy(gold: Labels, pred: Labels): number {
  checkPair("accuracy", gold, pred, undefined);
  let hits = 0;
  for (let i = 0; i < gold.length; i++) if (gold[i] === pred[i]) hits++;
  return hits / gold.length;
}

/** F1 of each class (null for a class with no gold and no predicted examples). */
export function perClassF1(gold: Labels, pred: Labels, numClasses: number): (number | null)[] {
  return perClassF1FromMatrix(confusionMatrix(gold, pred, numClasses));
}

/** Macro-averaged F1 in [0, 1]; see the file comment for the absent-class convention. */
export function macroF1(gold: Labels, pred: Labels, numClasses: number): number {
  return macroF1FromMatrix(confusionMatrix(gold, pred, numClasses));
}

/** Multiclass Matthews correlation in [-1, 1]; 0 when undefined (see the file comment). */
export function mcc(gold: Labels, pred: Labels, numClasses: number): number {
  return mccFromMatrix(confusionMatrix(gold, pred, numClasses));
}

/** accuracy, macroF1 and mcc from one pass over the labels. */
export function classificationMetrics(gold: Labels, pred: Labels, numClasses: number): ClassificationMetrics {
  const m = confusionMatrix(gold, pred, numClasses);
  let hits = 0;
  let total = 0;
  for (let k = 0; k < m.length; k++) {
    hits += m[k]![k]!;
    for (const c of m[k]!) total += c;
  }
  return { accuracy: hits / total, macroF1: macroF1FromMatrix(m), mcc: mccFromMatrix(m) };
}

/** Per-class F1 from a confusion matrix (rows gold, columns pred); null where 2TP + FP + FN = 0. */
export function perClassF1FromMatrix(m: readonly (readonly number[])[]): (number | null)[] {
  const k = checkMatrix("perClassF1FromMatrix", m);
  const out: (number | null)[] = [];
  for (let c = 0; c < k; c++) {
    const tp = m[c]![c]!;
    let goldCount = 0;
    let predCount = 0;
    for (let j = 0; j < k; j++) {
      goldCount += m[c]![j]!;
      predCount += m[j]![c]!;
    }
    // 2TP + FP + FN = goldCount + predCount
    const denom = goldCount + predCount;
    out.push(denom === 0 ? null : (2 * tp) / denom);
  }
  return out;
}

/** Macro F1 from a confusion matrix, averaging only over classes present in gold or pred. */
export function macroF1FromMatrix(m: readonly (readonly number[])[]): number {
  const f1 = perClassF1FromMatrix(m).filter((x): x is number => x !== null);
  if (f1.length === 0) throw new Error("macroF1: the confusion matrix holds no examples");
  return mean(f1);
}

/**
 * Gorodkin's multiclass MCC from a confusion matrix C (rows gold, columns pred):
 *   c = trace(C), s = sum(C), t_k = row sums (gold counts), p_k = column sums (predicted counts)
 *   MCC = (c*s - sum_k p_k t_k) / sqrt((s^2 - sum_k p_k^2) * (s^2 - sum_k t_k^2))
 * Returns 0 when the denominator is 0.
 */
export function mccFromMatrix(m: readonly (readonly number[])[]): number {
  const k = checkMatrix("mccFromMatrix", m);
  let c = 0;
  let s = 0;
  const t = new Array<number>(k).fill(0);
  const p = new Array<number>(k).fill(0);
  for (let i = 0; i < k; i++) {
    c += m[i]![i]!;
    for (let j = 0; j < k; j++) {
      const v = m[i]![j]!;
      s += v;
      t[i]! += v;
      p[j]! += v;
    }
  }
  if (s === 0) throw new Error("mcc: the confusion matrix holds no examples");
  let pt = 0;
  let pp = 0;
  let tt = 0;
  for (let i = 0; i < k; i++) {
    pt += p[i]! * t[i]!;
    pp += p[i]! * p[i]!;
    tt += t[i]! * t[i]!;
  }
  const denom = Math.sqrt((s * s - pp) * (s * s - tt));
  if (denom === 0) return 0;
  // Clamp float noise so a perfect prediction is exactly 1 (or -1).
  return Math.max(-1, Math.min(1, (c * s - pt) / denom));
}

function checkPair(where: string, gold: Labels, pred: Labels, numClasses: number | undefined): void {
  if (gold == null || typeof gold.length !== "number")
    throw new Error(`${where}: gold must be an array of label indices, got ${describe(gold)}`);
  if (pred == null || typeof pred.length !== "number")
    throw new Error(`${where}: pred must be an array of label indices, got ${describe(pred)}`);
  if (gold.length !== pred.length) {
    throw new Error(
      `${where}: gold and pred must have the same length, got gold.length=${gold.length}, pred.length=${pred.length}`,
    );
  }
  if (gold.length === 0) throw new Error(`${where}: no examples (gold and pred are empty)`);
  if (numClasses !== undefined && (!Number.isInteger(numClasses) || numClasses < 1)) {
    throw new Error(`${where}: numClasses must be a positive integer, got ${numClasses}`);
  }
  checkLabels(where, "gold", gold, numClasses);
  checkLabels(where, "pred", pred, numClasses);
}

function checkLabels(where: string, name: string, labels: Labels, numClasses: number | undefined): void {
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    const ok = typeof v === "number" && Number.isInteger(v) && v >= 0 && (numClasses === undefined || v < numClasses);
    if (!ok) {
      const range = numClasses === undefined ? "a non-negative integer" : `an integer in [0, ${numClasses})`;
      throw new Error(`${where}: ${name}[${i}] must be ${range}, got ${describe(v)}`);
    }
  }
}

function checkMatrix(where: string, m: readonly (readonly number[])[]): number {
  if (!Array.isArray(m) || m.length === 0)
    throw new Error(`${where}: expected a non-empty square matrix, got ${describe(m)}`);
  const k = m.length;
  for (let i = 0; i < k; i++) {
    const row = m[i];
    if (!Array.isArray(row) || row.length !== k) {
      throw new Error(`${where}: row ${i} must have ${k} entries (square matrix), got ${describe(row)}`);
    }
    for (let j = 0; j < k; j++) {
      const v = row[j];
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
        throw new Error(`${where}: entry [${i}][${j}] must be a non-negative integer count, got ${describe(v)}`);
      }
    }
  }
  return k;
}

function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (v === null) return "null";
  if (typeof v === "object") return Object.prototype.toString.call(v);
  return String(v);
}
