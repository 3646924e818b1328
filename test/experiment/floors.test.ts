import { strict as assert } from "node:assert";
import { floorVerdicts } from "../../lib/experiment/floors";
import type { SummaryRow } from "../../lib/experiment/summary";

function row(task: string, method: string, mean: number, ciLow: number, backbone = "kit-small"): SummaryRow {
  const s = { n: 3, mean, std: 0.01, ciLow, ciHigh: mean + (mean - ciLow) };
  return {
    backbone,
    task,
    method,
    options: {},
    n: 3,
    seeds: [0, 1, 2],
    accuracy: s,
    macroF1: s,
    mcc: s,
    trainableParams: 0,
    taskBytes: 0,
    peakTensorBytes: 0,
    msPerStep: 0,
    tokensPerSecond: 0,
    wallSeconds: 0,
  };
}

describe("experiment/floors", () => {
  const rows = [
    row("yelp", "zero-shot", 0.5, 0.5),
    row("yelp", "calibrated-zero-shot", 0.58, 0.55),
    row("yelp", "head-only", 0.56, 0.53),
    row("yelp", "prompt-tuning", 0.62, 0.59),
    row("spam", "head-only", 0.81, 0.8),
    row("spam", "prompt-tuning", 0.88, 0.86),
    row("imdb", "prompt-tuning", 0.6, 0.55),
    row("yelp", "prompt-tuning", 0.7, 0.69, "kit-base"),
  ];

  it("compares the lower end of the interval with the best floor's mean on the same backbone and task", () => {
    const v = floorVerdicts(rows, ["prompt-tuning"]);
    assert.deepEqual(
      v.map((x) => [x.backbone, x.task, x.floorMethod, x.floor, x.clears]),
      [
        ["kit-small", "yelp", "calibrated-zero-shot", 0.58, true],
        ["kit-small", "spam", "head-only", 0.81, true],
      ],
      "imdb and kit-base have no floors: no verdict",
    );
  });

  it("does not clear when the interval reaches down to the best floor", () => {
    const v = floorVerdicts([...rows.slice(0, 3), row("yelp", "prompt-tuning", 0.6, 0.58)], ["prompt-tuning"]);
    assert.equal(v.length, 1);
    assert.equal(v[0]!.clears, false, "0.58 is not above 0.58");
  });

  it("only the listed methods get verdicts, and custom floors are honoured", () => {
    assert.deepEqual(floorVerdicts(rows, ["full-finetune"]), []);
    const v = floorVerdicts(rows, ["prompt-tuning"], ["zero-shot"]);
    assert.deepEqual(
      v.map((x) => [x.task, x.floorMethod, x.clears]),
      [["yelp", "zero-shot", true]],
    );
  });
});
