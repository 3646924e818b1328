import assert from "node:assert/strict";
import { methodGaps } from "../../lib/experiment/gaps";
import { expandGrid } from "../../lib/experiment/grid";
import { summarizeRecords } from "../../lib/experiment/summary";
import { gapFigure, metricFigure, storageFigure, trainingCurveFigure } from "../../lib/notebook/figures";
import { checkFigure } from "../../lib/viz/figure";
import { fakeRecord, syntheticGridSpec } from "../fixtures/experiment/fake-record";

const records = expandGrid(syntheticGridSpec(3)).map((c) => fakeRecord(c));
const rows = summarizeRecords(records, { onWarning: () => undefined });
type Trace = Record<string, any>;

describe("notebook figures", () => {
  it("metric vs x: one trace per series, x sorted, CI error bars, reference lines", () => {
    const prompt = rows.filter((r) => r.method === "prompt");
    const fig = metricFigure(prompt, {
      x: (r) => r.options["promptLength"] as number,
      series: (r) => r.task,
      title: "length",
      xTitle: "prompt length",
      xType: "log",
      references: [{ name: "chance", y: 0.5 }],
    });
    checkFigure(fig);
    assert.deepEqual(
      fig.data.map((t) => t["name"]),
      ["spam", "sst2"],
    );
    const spam = fig.data[0] as Trace;
    assert.deepEqual(spam["x"], [1, 5]);
    const r5 = prompt.find((r) => r.task === "spam" && r.options["promptLength"] === 5)!;
    assert.equal(spam["y"][1], r5.accuracy.mean);
    assert.ok(Math.abs(spam["error_y"]["array"][1] - (r5.accuracy.ciHigh - r5.accuracy.mean)) < 1e-12);
    assert.equal((fig.layout as Trace)["xaxis"]["type"], "log");
    assert.equal((fig.layout as Trace)["shapes"][0]["y0"], 0.5);
  });

  it("string x values make a category axis in first-seen order; bars group", () => {
    const fig = metricFigure(rows, {
      x: (r) => (r.method === "prompt" ? `P${r.options["promptLength"]}` : "FT"),
      series: (r) => r.task,
      title: "t",
      xTitle: "x",
      kind: "bar",
    });
    assert.equal((fig.layout as Trace)["xaxis"]["type"], "category");
    assert.equal((fig.layout as Trace)["barmode"], "group");
    assert.equal(fig.data[0]!["type"], "bar");
    assert.ok(!("text" in fig.data[0]!), "no text printed inside bars");
  });

  it("refuses two rows of one series at the same x", () => {
    assert.throws(
      () => metricFigure(rows, { x: (r) => r.task, series: () => "all", title: "amb", xTitle: "task" }),
      /series 'all' has two rows at x=/,
    );
  });

  it("gap figure, storage figure and a training curve", () => {
    const gaps = methodGaps(records, { a: "prompt", b: "finetune", metric: "accuracy" });
    const g = gapFigure(gaps, {
      x: (r) => r.options["promptLength"] as number,
      title: "gap",
      xTitle: "len",
      yTitle: "PT − FT",
    });
    checkFigure(g);
    assert.deepEqual(
      g.data.map((t) => t["name"]),
      ["spam", "sst2"],
    );
    assert.equal(
      (g.data[0] as Trace)["y"][0],
      gaps.find((r) => r.task === "spam" && r.options["promptLength"] === 1)!.mean,
    );
    assert.throws(
      () => gapFigure(gaps, { x: (r) => r.task, series: () => "gap", title: "t", xTitle: "task", yTitle: "d" }),
      /series 'gap' has two rows at x=spam/,
    );
    const byTask = gapFigure(
      gaps.filter((r) => r.options["promptLength"] === 5),
      { x: (r) => r.task, series: () => "gap", title: "t", xTitle: "task", yTitle: "d" },
    );
    assert.equal((byTask.data[0] as Trace)["mode"], "markers", "no lines between categories");
    const s = storageFigure(rows);
    assert.deepEqual((s.data[0] as Trace)["x"], ["finetune", "prompt"]);
    assert.equal((s.data[0] as Trace)["y"][0], 4000);
    assert.equal((s.layout as Trace)["yaxis"]["type"], "log");
    const c = trainingCurveFigure(
      [
        { step: 5, trainLoss: 0.9, devAccuracy: 0.6 },
        { step: 10, trainLoss: 0.7, devAccuracy: 0.7 },
      ],
      "curve",
      [{ name: "zero-shot", y: 0.55 }],
    );
    checkFigure(c);
    assert.deepEqual((c.data[1] as Trace)["y"], [0.6, 0.7]);
    assert.equal((c.layout as Trace)["shapes"][0]["yref"], "y2");
  });
});

describe("figure colours", () => {
  it("a method has one colour in every figure, whatever the order of its series; other series take the palette", async () => {
    const { accuracyVsParamsFigure } = await import("../../lib/viz/report");
    const { METHOD_COLORS, PALETTE, seriesColor } = await import("../../lib/viz/colors");
    const methods = ["full-finetune", "zero-shot", "prompt-tuning"];
    const grid = expandGrid({ name: "c", backbones: ["tiny"], tasks: ["yelp", "spam"], methods, seeds: [0, 1] });
    const rs = summarizeRecords(
      grid.map((c) => fakeRecord(c)),
      { onWarning: () => undefined },
    );
    const colorOf = (fig: { data: Trace[] }, name: string) => {
      const t = fig.data.find((x) => x["name"] === name)!;
      return t["marker"]["color"];
    };
    const bars = metricFigure(rs, {
      x: (r) => r.task,
      series: (r) => r.method,
      title: "b",
      xTitle: "task",
      kind: "bar",
    });
    const scatter = accuracyVsParamsFigure([...rs].reverse());
    for (const m of methods) {
      assert.equal(colorOf(bars as { data: Trace[] }, m), METHOD_COLORS[m]);
      assert.equal(colorOf(scatter as { data: Trace[] }, m), METHOD_COLORS[m]);
    }
    const storage = storageFigure(rs) as { data: Trace[] };
    const order = storage.data[0]!["x"] as string[];
    assert.deepEqual(
      storage.data[0]!["marker"]["color"],
      order.map((m) => METHOD_COLORS[m]),
    );
    assert.equal(seriesColor("yelp", 1), PALETTE[1]);
  });
});
