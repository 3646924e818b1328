import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { resolveConfig } from "../../lib/backbone/config";
import { parameterSpec } from "../../lib/backbone/transformer";
import { readMoeBenchReport, type MoeBenchReport, type MoeMeasure } from "../../lib/experiment/moe-bench-report";
import type { RunRecord } from "../../lib/experiment/record";
import { moeBenchTable, moeModelSummary, moeTradeoffFigures, sameRun } from "../../lib/notebook/moe-offload";
import { setupBackend } from "../helpers";
import { tinyMoeCheckpoint, tinyMoeConfig } from "../backbone/moe/fixture";
import { tinyCheckpointDir } from "../tuning/fixture";
import { tempDir } from "./fixtures";

function measure(engine: MoeMeasure["engine"], budget: string, budgetBytes: number | null, x: number): MoeMeasure {
  return {
    engine,
    budget,
    budgetBytes,
    evalTokensPerSecond: 1000 * x,
    promptTokensPerSecond: 500 * x,
    evalTokensPerCpuSecond: 900 * x,
    promptTokensPerCpuSecond: 450 * x,
    peakTensorBytes: 4e6 * x,
    peakPromptTensorBytes: 8e6 * x,
    peakRssBytes: 2e8,
    hitRate: engine === "resident" ? null : x,
    bytesRead: 1e6,
    waitMs: 0,
  };
}

function report(): MoeBenchReport {
  const rows = [
    measure("resident", "all", null, 1),
    measure("infmoe", "25%", 250, 0.5),
    measure("lru", "25%", 250, 0.25),
  ];
  const base = rows[0]!;
  return {
    when: "2026-12-01T00:00:00Z",
    checkpoint: "x",
    settings: { batch: 4, length: 64, iters: 2, promptLen: 8 },
    expertBytes: { total: 1000, largest: 100 },
    rows: rows.map((m) => ({
      ...m,
      relative: {
        evalSpeed: m.evalTokensPerSecond / base.evalTokensPerSecond,
        promptSpeed: 1,
        evalCpu: m.evalTokensPerCpuSecond / base.evalTokensPerCpuSecond,
        promptCpu: 1,
        peakTensor: m.peakTensorBytes / base.peakTensorBytes,
        peakPromptTensor: 1,
        peakRss: 1,
      },
    })),
  };
}

describe("notebook 09 helpers (moe-offload)", () => {
  before(setupBackend);

  it("counts all, expert and active parameters of an MoE checkpoint from its config", () => {
    const dir = tinyMoeCheckpoint(3, 1);
    const s = moeModelSummary(dir);
    let total = 0;
    let experts = 0;
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
    assert.equal(cfg.num_experts, 4);
    for (const [name, spec] of parameterSpec(resolveConfig(tinyMoeConfig(cfg.vocab_size, 1)))) {
      const n = spec.shape.reduce((a, b) => a * b, 1);
      total += n;
      if (name.includes(".experts.")) experts += n;
    }
    assert.equal(s.total, total);
    assert.equal(s.expertParams, experts);
    assert.equal(s.activePerToken, total - experts + experts / 4);
    assert.deepEqual([...s.moeLayers], [0, 2]);
    assert.throws(() => moeModelSummary(tinyCheckpointDir()), /not a mixture-of-experts checkpoint/);
  });

  it("reads a moe-bench report back and refuses a damaged one, naming the field", () => {
    const dir = tempDir("kit-moe-report-");
    const file = path.join(dir, "r.json");
    fs.writeFileSync(file, JSON.stringify(report()));
    assert.equal(readMoeBenchReport(file).rows.length, 3);
    const bad = report() as unknown as { rows: Record<string, unknown>[] };
    bad.rows[1]!["peakTensorBytes"] = "big";
    fs.writeFileSync(file, JSON.stringify(bad));
    assert.throws(() => readMoeBenchReport(file), /rows\[1\]\.peakTensorBytes must be a finite number/);
    const noBase = report() as unknown as { rows: unknown[] };
    noBase.rows.shift();
    fs.writeFileSync(file, JSON.stringify(noBase));
    assert.throws(() => readMoeBenchReport(file), /no all-resident row/);
    fs.writeFileSync(file, "{");
    assert.throws(() => readMoeBenchReport(file), /not a readable moe-bench report/);
  });

  it("tabulates and plots each engine against the budget, relative to all-resident", () => {
    const r = report();
    const table = moeBenchTable(r);
    assert.equal(table[1]!["budget"], "25%");
    assert.equal(table[1]!["peak tensors, eval (x)"], "0.50");
    const figs = moeTradeoffFigures(r);
    assert.equal(figs.memory.data.length, 2); // infmoe and lru; resident is the 1.0 reference
    assert.deepEqual(figs.memory.data[0]!["x"], [25]);
    assert.deepEqual(figs.memory.data[0]!["y"], [0.5]);
    assert.deepEqual(figs.hits.data[1]!["y"], [0.25]);
  });

  it("sameRun tells identical runs from runs that differ in a loss or an accuracy", () => {
    const rec = (acc: number, losses: number[], dev = 0.5) =>
      ({
        metrics: { accuracy: acc },
        devMetrics: { accuracy: dev },
        curve: losses.map((trainLoss, step) => ({ step, trainLoss })),
      }) as unknown as RunRecord;
    assert.equal(sameRun(rec(0.6, [1, 0.5]), rec(0.6, [1, 0.5])).same, true);
    assert.match(sameRun(rec(0.6, [1, 0.5]), rec(0.6, [1, 0.51])).why, /step 1: loss 0.5 vs 0.51/);
    assert.match(sameRun(rec(0.6, [1]), rec(0.61, [1])).why, /test accuracy/);
    assert.match(sameRun(rec(0.6, [1], 0.5), rec(0.6, [1], 0.6)).why, /dev accuracy/);
  });
});
