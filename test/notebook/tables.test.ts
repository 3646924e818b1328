import assert from "node:assert/strict";
import { methodGaps } from "../../lib/experiment/gaps";
import { expandGrid } from "../../lib/experiment/grid";
import { summarizeRecords } from "../../lib/experiment/summary";
import { gapTable, gapVerdict, interval, meanStd, pivotTable, signed, summaryTable } from "../../lib/notebook/tables";
import { fakeRecord, syntheticGridSpec } from "../fixtures/experiment/fake-record";

const records = expandGrid(syntheticGridSpec(3)).map((c) => fakeRecord(c));
const rows = summarizeRecords(records, { onWarning: () => undefined });

describe("notebook tables", () => {
  it("formats mean ± std, intervals and signed differences", () => {
    const s = { n: 3, mean: 0.71254, std: 0.02, ciLow: 0.69, ciHigh: 0.73 };
    assert.equal(meanStd(s), "0.7125 ± 0.0200");
    assert.equal(interval(s, 2), "[0.69, 0.73]");
    assert.equal(signed(0.0125), "+0.0125");
    assert.equal(signed(-0.03, 2), "-0.03");
  });

  it("summary table: one record per row with options, n, metric columns and costs", () => {
    const t = summaryTable(rows);
    assert.equal(t.length, rows.length);
    const pt = t.find((r) => r["method"] === "prompt" && r["promptLength"] === "5" && r["task"] === "spam")!;
    const row = rows.find((r) => r.method === "prompt" && r.options["promptLength"] === 5 && r.task === "spam")!;
    assert.equal(pt["n"], 3);
    assert.equal(pt["accuracy (mean ± std)"], meanStd(row.accuracy));
    assert.equal(pt["accuracy 95% CI"], interval(row.accuracy));
    assert.equal(pt["macro-F1 (mean ± std)"], meanStd(row.macroF1));
    assert.equal(pt["task storage"], "320 B");
    assert.ok(!("backbone" in pt), "a single backbone is not a column");
    const ft = t.find((r) => r["method"] === "finetune")!;
    assert.equal(ft["promptLength"], "—", "a method without the option shows a dash");
    assert.deepEqual(Object.keys(summaryTable(rows, { metrics: ["mcc"], cost: false, backbone: true })[0]!), [
      "backbone",
      "task",
      "method",
      "promptLength",
      "n",
      "MCC (mean ± std)",
      "MCC 95% CI",
    ]);
    assert.throws(() => summaryTable(rows, { metrics: [] }), /at least one metric/);
  });

  it("gap table: signed mean, CI and a reading that follows the interval", () => {
    const gaps = methodGaps(records, { a: "prompt", b: "finetune", metric: "accuracy" });
    const t = gapTable(gaps, { a: "PT", b: "FT" });
    assert.equal(t.length, gaps.length);
    assert.equal(t[0]!["PT − FT (mean)"], signed(gaps[0]!.mean));
    assert.equal(t[0]!["paired seeds"], 3);
    assert.equal(gapTable(gaps, { a: "PT", b: "FT" }, { backbone: true, digits: 2 })[0]!["backbone"], "tiny");
    assert.equal(gapTable(gaps, { a: "PT", b: "FT" }, { digits: 2 })[0]!["PT − FT (mean)"], signed(gaps[0]!.mean, 2));
    assert.equal(gapVerdict({ n: 3, mean: 0.05, std: 0.01, ciLow: 0.02, ciHigh: 0.08 }, "PT", "FT"), "PT better");
    assert.equal(gapVerdict({ n: 3, mean: -0.05, std: 0.01, ciLow: -0.08, ciHigh: -0.02 }, "PT", "FT"), "FT better");
    assert.match(
      gapVerdict({ n: 3, mean: 0, std: 0.01, ciLow: -0.01, ciHigh: 0.01 }, "PT", "FT"),
      /no clear difference/,
    );
    assert.match(gapVerdict({ n: 1, mean: 0.1, std: 0, ciLow: 0.1, ciHigh: 0.1 }, "PT", "FT"), /one seed/);
  });

  it("pivot table: rows x columns in first-seen order, empty cells marked, duplicates refused", () => {
    const items = [
      { pos: "front", task: "yelp", v: "0.7" },
      { pos: "back", task: "yelp", v: "0.6" },
      { pos: "front", task: "pairs", v: "0.5" },
    ];
    const t = pivotTable(items, { row: (i) => i.pos, column: (i) => i.task, value: (i) => i.v, rowTitle: "position" });
    assert.deepEqual(t, [
      { position: "front", yelp: "0.7", pairs: "0.5" },
      { position: "back", yelp: "0.6", pairs: "—" },
    ]);
    assert.throws(
      () => pivotTable([...items, items[0]!], { row: (i) => i.pos, column: (i) => i.task, value: (i) => i.v }),
      /two items for row 'front', column 'yelp'/,
    );
    assert.throws(
      () => pivotTable(items, { row: (i) => i.pos, column: () => "16", value: (i) => i.v }),
      /column label '16' is an integer/,
    );
  });
});
