import { strict as assert } from "node:assert";
import { Rng } from "../../lib/backend/random";
import { mean, std } from "../../lib/eval/stats";
import { methodGaps } from "../../lib/experiment/gaps";
import { expandGrid, type Cell } from "../../lib/experiment/grid";
import type { RunRecord } from "../../lib/experiment/record";
import {
  formatBytes,
  formatSummaryTable,
  summarizeRecords,
  toCsv,
  varyingOptionKeys,
} from "../../lib/experiment/summary";
import { fakeRecord, syntheticGridSpec } from "../fixtures/experiment/fake-record";

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

/** Accuracy = 0.6 + 0.1*(method prompt) + 0.01*promptLength + 0.02*seed, so group stats are known. */
function records(): RunRecord[] {
  return expandGrid(syntheticGridSpec(3)).map((c: Cell) => {
    const acc =
      0.6 +
      (c.method === "prompt" ? 0.1 : 0) +
      0.01 * ((c.options.promptLength as number | undefined) ?? 0) +
      0.02 * c.seed;
    return fakeRecord(c, {
      metrics: { accuracy: acc, macroF1: acc - 0.1, mcc: acc - 0.5 },
      msPerStep: c.method === "prompt" ? 2 : 5,
    });
  });
}

describe("experiment/summary", () => {
  it("groups by task, method, backbone and the option keys that vary", () => {
    const recs = records();
    assert.deepEqual(varyingOptionKeys(recs), ["promptLength"]); // steps is constant, so not shown
    const rows = summarizeRecords(recs);
    assert.deepEqual(
      rows.map((r) => `${r.task}/${r.method}/${r.options.promptLength ?? "-"}`),
      ["spam/finetune/-", "spam/prompt/1", "spam/prompt/5", "sst2/finetune/-", "sst2/prompt/1", "sst2/prompt/5"],
    );
    const row = rows.find((r) => r.task === "sst2" && r.options.promptLength === 5)!;
    const accs = [0, 1, 2].map((s) => 0.6 + 0.1 + 0.05 + 0.02 * s);
    assert.equal(row.n, 3);
    assert.deepEqual(row.seeds, [0, 1, 2]);
    close(row.accuracy.mean, mean(accs));
    close(row.accuracy.std, std(accs));
    assert.ok(row.accuracy.ciLow <= row.accuracy.mean && row.accuracy.mean <= row.accuracy.ciHigh);
    close(row.mcc.mean, mean(accs) - 0.5);
    assert.equal(row.trainableParams, 80);
    assert.equal(row.taskBytes, 320);
    assert.equal(row.msPerStep, 2);
  });

  it("is independent of record order and deduplicates by cellId", () => {
    const recs = records();
    const shuffled = new Rng(5).shuffle([...recs, recs[0]!]);
    const warnings: string[] = [];
    assert.equal(
      toCsv(summarizeRecords(shuffled, { onWarning: (m) => warnings.push(m) })),
      toCsv(summarizeRecords(recs)),
    );
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /appears more than once/);
  });

  it("writes summary.csv with a header and fixed precision", () => {
    const csv = toCsv(summarizeRecords(records()));
    const lines = csv.trimEnd().split("\n");
    assert.equal(lines.length, 7);
    assert.equal(
      lines[0],
      "backbone,task,method,promptLength,n,seeds,accuracy_mean,accuracy_std,accuracy_ci_low,accuracy_ci_high," +
        "macroF1_mean,macroF1_std,macroF1_ci_low,macroF1_ci_high,mcc_mean,mcc_std,mcc_ci_low,mcc_ci_high," +
        "trainable_params,task_bytes,peak_tensor_bytes,ms_per_step,tokens_per_second,wall_seconds",
    );
    const cols = lines[0]!.split(",");
    const ft = lines[1]!.split(",");
    assert.equal(ft.length, cols.length);
    const get = (row: string[], name: string): string => row[cols.indexOf(name)]!;
    assert.deepEqual(
      [get(ft, "task"), get(ft, "method"), get(ft, "promptLength"), get(ft, "n"), get(ft, "seeds")],
      ["spam", "finetune", "", "3", "0 1 2"],
    );
    assert.equal(get(ft, "accuracy_mean"), "0.6200");
    assert.equal(get(ft, "accuracy_std"), "0.0200");
    assert.equal(get(ft, "mcc_mean"), "0.1200");
    assert.equal(get(ft, "trainable_params"), "1000");
    assert.equal(get(ft, "ms_per_step"), "5.00");
    assert.match(get(ft, "accuracy_ci_low"), /^0\.6\d{3}$/);
  });

  it("quotes CSV fields that need it", () => {
    const cells = expandGrid({
      name: "q",
      backbones: ["b"],
      tasks: ["t,1"],
      methods: ["m"],
      seeds: [0],
      options: { tag: ['say "hi"', "x"] },
    });
    const csv = toCsv(summarizeRecords(cells.map((c) => fakeRecord(c))));
    assert.match(csv, /^b,"t,1",m,"say ""hi""",1,0,/m);
  });

  it("formats an aligned console table", () => {
    const table = formatSummaryTable(summarizeRecords(records()));
    const lines = table.split("\n");
    assert.equal(lines.length, 8); // header, rule, 6 rows
    assert.match(
      lines[0]!,
      /^task +method +promptLength +n +accuracy mean ± std \[95% CI\] +macroF1 +mcc +params +task bytes +ms\/step$/,
    );
    assert.match(lines[1]!, /^-+( +-+)+$/);
    assert.match(
      lines[2]!,
      /^spam +finetune +3 +0\.6200 ± 0\.0200 \[0\.6\d{3}, 0\.6\d{3}\] +0\.5200 ± 0\.0200 +0\.1200 ± 0\.0200 +1\.00k +3\.9 KiB +5\.0$/,
    );
    // right-aligned numeric columns end at the same place in every line
    const end = lines[0]!.length;
    for (const l of lines.slice(2)) assert.equal(l.length, end, l);
    assert.equal(formatSummaryTable([]), "(no results)");
  });

  it("formatBytes", () => {
    assert.equal(formatBytes(512), "512 B");
    assert.equal(formatBytes(1536), "1.5 KiB");
    assert.equal(formatBytes(50 * 1024 * 1024), "50.0 MiB");
  });

  it("methodGaps pairs seeds and summarises prompt minus finetune", () => {
    const recs = records();
    const gaps = methodGaps(recs, { a: "prompt", b: "finetune", metric: "accuracy" });
    assert.deepEqual(
      gaps.map((g) => `${g.task}/${g.options.promptLength}`),
      ["spam/1", "spam/5", "sst2/1", "sst2/5"],
    );
    for (const g of gaps) {
      close(g.mean, 0.1 + 0.01 * (g.options.promptLength as number), 1e-12);
      close(g.std, 0, 1e-12); // same seed offsets on both sides cancel
      assert.deepEqual(g.seeds, [0, 1, 2]);
      assert.equal(g.unpaired, 0);
    }
    // drop one finetune seed: 2 pairs remain, 1 prompt run unpaired per group
    const fewer = recs.filter((r) => !(r.method === "finetune" && r.seed === 2));
    const g2 = methodGaps(fewer, { a: "prompt", b: "finetune", metric: "mcc", aWhere: { promptLength: 5 } });
    assert.deepEqual(
      g2.map((g) => [g.task, g.n, g.unpaired]),
      [
        ["spam", 2, 1],
        ["sst2", 2, 1],
      ],
    );
    assert.throws(
      () => methodGaps(recs, { a: "finetune", b: "prompt", metric: "accuracy" }),
      /method "prompt" has several runs for tiny\/sst2 seed 0.*narrow them with bWhere/,
    );
    assert.throws(() => methodGaps(recs, { a: "lora", b: "prompt", metric: "accuracy" }), /no runs of method "lora"/);
  });
});
