/**
 * The report `npm run moe-bench` writes (reports/moe/latest.json, or --out): one row per engine and expert budget,
 * each measured in its own process, with figures relative to the all-resident model. Read back (checked) by
 * notebook 09 and anyone comparing runs.
 */
import * as fs from "node:fs";
import { isPlainObject } from "../io/validate";

/** "resident" is the all-resident model; the others are offloading engines (bench/moe-bench.ts ENGINES). */
export type MoeEngine = "resident" | "infmoe" | "lru" | "naive";

export interface MoeMeasure {
  readonly engine: MoeEngine;
  /** "all" (resident), "100%", "50%", "25%" or the smallest budget in bytes. */
  readonly budget: string;
  readonly budgetBytes: number | null;
  /** tokens per second of the fastest timed pass (wall clock). */
  readonly evalTokensPerSecond: number;
  readonly promptTokensPerSecond: number;
  /** tokens per CPU-second of the process (all threads), over the timed passes. */
  readonly evalTokensPerCpuSecond: number;
  readonly promptTokensPerCpuSecond: number;
  /** peak tensor bytes of an eval pass, and of a prompt-tuning step. */
  readonly peakTensorBytes: number;
  readonly peakPromptTensorBytes: number;
  readonly peakRssBytes: number;
  readonly hitRate: number | null;
  readonly bytesRead: number;
  readonly waitMs: number;
}

/** A measure relative to the all-resident row (1 = the same as all-resident). */
export interface MoeRelative {
  readonly evalSpeed: number;
  readonly promptSpeed: number;
  readonly evalCpu: number;
  readonly promptCpu: number;
  readonly peakTensor: number;
  readonly peakPromptTensor: number;
  readonly peakRss: number;
}

export interface MoeBenchReport {
  readonly when: string;
  readonly checkpoint: string;
  readonly settings: {
    readonly batch: number;
    readonly length: number;
    readonly iters: number;
    readonly promptLen: number;
  };
  readonly expertBytes: { readonly total: number; readonly largest: number };
  readonly rows: readonly (MoeMeasure & { readonly relative: MoeRelative })[];
}

/** `m` relative to the all-resident `base`. */
export function relativeToResident(m: MoeMeasure, base: MoeMeasure): MoeRelative {
  return {
    evalSpeed: m.evalTokensPerSecond / base.evalTokensPerSecond,
    promptSpeed: m.promptTokensPerSecond / base.promptTokensPerSecond,
    evalCpu: m.evalTokensPerCpuSecond / base.evalTokensPerCpuSecond,
    promptCpu: m.promptTokensPerCpuSecond / base.promptTokensPerCpuSecond,
    peakTensor: m.peakTensorBytes / base.peakTensorBytes,
    peakPromptTensor: m.peakPromptTensorBytes / base.peakPromptTensorBytes,
    peakRss: m.peakRssBytes / base.peakRssBytes,
  };
}

/** The budget as a fraction of all expert bytes (1 for the all-resident row). */
export function budgetFraction(row: MoeMeasure, report: MoeBenchReport): number {
  return row.budgetBytes === null ? 1 : row.budgetBytes / report.expertBytes.total;
}

/** Reads and checks a moe-bench report, naming the file and the field that is wrong. */
export function readMoeBenchReport(file: string): MoeBenchReport {
  let r: unknown;
  try {
    r = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${file}: not a readable moe-bench report (${(err as Error).message})`);
  }
  if (!isPlainObject(r) || !Array.isArray(r.rows) || !isPlainObject(r.expertBytes))
    throw new Error(`${file}: expected a moe-bench report {when, checkpoint, settings, expertBytes, rows}`);
  r.rows.forEach((row, i) => {
    if (!isPlainObject(row)) throw new Error(`${file}: rows[${i}] is not an object`);
    for (const k of ["evalTokensPerSecond", "peakTensorBytes", "peakPromptTensorBytes", "evalTokensPerCpuSecond"])
      if (typeof row[k] !== "number" || !Number.isFinite(row[k]))
        throw new Error(`${file}: rows[${i}].${k} must be a finite number, got ${JSON.stringify(row[k])}`);
    if (!["resident", "infmoe", "lru", "naive"].includes(row.engine as string))
      throw new Error(
        `${file}: rows[${i}].engine must be resident, infmoe, lru or naive, got ${JSON.stringify(row.engine)}`,
      );
  });
  if (!r.rows.some((row) => isPlainObject(row) && row.engine === "resident"))
    throw new Error(`${file}: no all-resident row to compare against`);
  return r as unknown as MoeBenchReport;
}
