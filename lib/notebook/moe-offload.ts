/**
 * Notebook 09 (mixture of experts with offloaded experts): the model's parameter counts, running `npm run
 * moe-bench` from a cell, the memory / speed trade-off figures, and the all-resident vs offloaded prompt-tuning
 * comparison.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parameterSpec } from "../backbone/transformer";
import { CHECKPOINT_FILES, configFromJson } from "../backbone/checkpoint";
import { moeSettings } from "../backbone/moe/moe-config";
import { backboneInfo } from "./backbones";
import { readJsonFile } from "../io/json-file";
import { projectRoot } from "../experiment/project-paths";
import {
  budgetFraction,
  readMoeBenchReport,
  type MoeBenchReport,
  type MoeEngine,
} from "../experiment/moe-bench-report";
import type { RunRecord } from "../experiment/record";
import { seriesColor } from "../viz/colors";
import type { Figure, PlotlyTrace } from "../viz/figure";

export interface MoeModelSummary {
  readonly layers: number;
  readonly moeLayers: readonly number[];
  readonly experts: number;
  readonly expertsPerToken: number;
  /** every parameter. */
  readonly total: number;
  /** parameters inside the experts (offloadable). */
  readonly expertParams: number;
  /** parameters one token passes through: the dense part plus expertsPerToken experts per MoE block. */
  readonly activePerToken: number;
  /** the same without the token and position embeddings (the count the dense sizes are compared by). */
  readonly activeNonEmbedding: number;
}

/** Parameter counts of the MoE checkpoint in `dir` (from its config alone). */
export function moeModelSummary(dir: string): MoeModelSummary {
  const file = path.join(dir, CHECKPOINT_FILES.config);
  const config = configFromJson(readJsonFile(file), file);
  const moe = moeSettings(config);
  if (moe === null) throw new Error(`${file}: not a mixture-of-experts checkpoint (no num_experts)`);
  let total = 0;
  let expertParams = 0;
  for (const [name, spec] of parameterSpec(config)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    total += n;
    if (/\.experts\.\d+\./.test(name)) expertParams += n;
  }
  const k = moe.expertsPerToken;
  return {
    layers: config.nLayers,
    moeLayers: moe.moeLayers,
    experts: moe.numExperts,
    expertsPerToken: k,
    total,
    expertParams,
    activePerToken: total - expertParams + (expertParams / moe.numExperts) * k,
    activeNonEmbedding: backboneInfo(dir).nonEmbeddingParams - expertParams + (expertParams / moe.numExperts) * k,
  };
}

/**
 * Runs `npm run moe-bench` on `checkpoint` in a child process (each configuration in its own process, so peak RSS
 * is its own) and returns its report. Quick mode: 2 x 32 tokens, one timed pass: a plumbing check, not figures.
 */
export function runMoeBench(o: {
  checkpoint: string;
  out: string;
  quick: boolean;
  log?: (s: string) => void;
}): MoeBenchReport {
  const root = projectRoot();
  const script = path.join(root, "build", "bench", "moe-bench.js");
  if (!fs.existsSync(script)) throw new Error(`${script}: missing; run \`npx tsc -p .\` in ${root} first`);
  const sizes = o.quick ? ["--batch", "2", "--length", "32", "--iters", "1", "--prompt-len", "4"] : [];
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  const r = spawnSync(process.execPath, [script, "--checkpoint", o.checkpoint, "--out", o.out, ...sizes], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`moe-bench failed (exit ${r.status}):\n${r.stderr}`);
  // the bench's own table is wide; the notebook shows the report as a table instead, so only its first line here
  (o.log ?? console.log)(r.stdout.trim().split("\n")[0]!);
  return readMoeBenchReport(o.out);
}

const ENGINE_LABEL: Record<MoeEngine, string> = {
  resident: "all resident",
  infmoe: "InfMoE schedule (overlap, prefetch, lookahead eviction)",
  lru: "same schedule, LRU eviction",
  naive: "naive load-on-miss (LRU)",
};

/** One row per engine and budget: the figures relative to all-resident, for a table. */
export function moeBenchTable(report: MoeBenchReport): Record<string, string>[] {
  return report.rows.map((r) => ({
    engine: r.engine,
    budget: r.engine === "resident" ? "all" : `${(100 * budgetFraction(r, report)).toFixed(0)}%`,
    "peak tensors, eval (x)": r.relative.peakTensor.toFixed(2),
    "peak tensors, prompt step (x)": r.relative.peakPromptTensor.toFixed(2),
    "eval tok/CPU-s (x)": r.relative.evalCpu.toFixed(2),
    "eval tok/s wall (x)": r.relative.evalSpeed.toFixed(2),
    "prompt step tok/CPU-s (x)": r.relative.promptCpu.toFixed(2),
    "hit rate": r.hitRate === null ? "-" : r.hitRate.toFixed(2),
    "MB read per pass": (r.bytesRead / report.settings.iters / 1e6).toFixed(1),
  }));
}

/**
 * The trade-off as three figures against the expert budget (% of all expert bytes): peak tensor memory of an eval
 * pass, eval throughput per CPU-second, and the cache hit rate, each per engine, relative to all-resident, with
 * the targets (0.5x memory, 0.7x throughput at a 25% budget) drawn as dashed lines.
 */
export function moeTradeoffFigures(report: MoeBenchReport): { memory: Figure; speed: Figure; hits: Figure } {
  const engines = (["infmoe", "lru", "naive"] as const).filter((e) => report.rows.some((r) => r.engine === e));
  const trace = (y: (r: MoeBenchReport["rows"][number]) => number | null): PlotlyTrace[] =>
    engines.map((e, i) => {
      const rows = report.rows
        .filter((r) => r.engine === e)
        .sort((a, b) => budgetFraction(a, report) - budgetFraction(b, report));
      return {
        type: "scatter",
        mode: "lines+markers",
        name: ENGINE_LABEL[e],
        x: rows.map((r) => 100 * budgetFraction(r, report)),
        y: rows.map(y),
        marker: { color: seriesColor(e, i) },
        line: { color: seriesColor(e, i) },
      };
    });
  const line = (y: number, text: string) => ({
    shapes: [
      { type: "line", xref: "paper", x0: 0, x1: 1, y0: y, y1: y, line: { dash: "dash", color: "#888", width: 1 } },
    ],
    annotations: [
      {
        xref: "paper",
        x: 1,
        y,
        xanchor: "right",
        yanchor: "bottom",
        text,
        showarrow: false,
        font: { size: 11, color: "#555" },
      },
    ],
  });
  const xaxis = { title: { text: "expert budget (% of all expert bytes)" }, range: [0, 105] };
  const setting = `${report.settings.batch} x ${report.settings.length} tokens`;
  return {
    memory: {
      data: trace((r) => r.relative.peakTensor),
      layout: {
        title: { text: `peak tensor memory of an eval pass (${setting}), relative to all-resident` },
        xaxis,
        yaxis: { title: { text: "x all-resident" }, rangemode: "tozero" },
        ...line(0.5, "target at 25%: 0.5x"),
        height: 380,
      },
    },
    speed: {
      data: trace((r) => r.relative.evalCpu),
      layout: {
        title: { text: "eval throughput per CPU-second, relative to all-resident" },
        xaxis,
        yaxis: { title: { text: "x all-resident" }, rangemode: "tozero" },
        ...line(0.7, "target at 25%: 0.7x"),
        height: 380,
      },
    },
    hits: {
      data: trace((r) => r.hitRate),
      layout: {
        title: { text: "expert cache hit rate during eval passes" },
        xaxis,
        yaxis: { title: { text: "hits / (hits + misses)" }, range: [0, 1.05] },
        height: 380,
      },
    },
  };
}

/** Whether two runs trained and evaluated identically: the same test and dev accuracy and every recorded training loss. */
export function sameRun(a: RunRecord, b: RunRecord): { same: boolean; why: string } {
  if (a.metrics.accuracy !== b.metrics.accuracy)
    return { same: false, why: `test accuracy ${a.metrics.accuracy} vs ${b.metrics.accuracy}` };
  const devA = a.devMetrics?.accuracy ?? null;
  const devB = b.devMetrics?.accuracy ?? null;
  if (devA !== devB) return { same: false, why: `dev accuracy ${devA} vs ${devB}` };
  if (a.curve.length !== b.curve.length)
    return { same: false, why: `${a.curve.length} vs ${b.curve.length} curve points` };
  for (let i = 0; i < a.curve.length; i++)
    if (a.curve[i]!.trainLoss !== b.curve[i]!.trainLoss)
      return {
        same: false,
        why: `step ${a.curve[i]!.step}: loss ${a.curve[i]!.trainLoss} vs ${b.curve[i]!.trainLoss}`,
      };
  return {
    same: true,
    why: `test accuracy ${a.metrics.accuracy}, dev accuracy ${devA} and all ${a.curve.length} recorded training losses identical`,
  };
}
