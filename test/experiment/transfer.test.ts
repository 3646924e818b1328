import assert from "node:assert/strict";
import { transferCells, transferMatrix } from "../../lib/experiment/transfer";
import { fakeRecord } from "../fixtures/experiment/fake-record";

describe("prompt transfer matrix", () => {
  const spec = {
    name: "transfer",
    backbone: "kit-nano",
    tasks: ["imdb", "amazon", "yelp"],
    seeds: [0, 1, 2],
    fixed: { steps: 4 },
  };

  it("builds, per target, the default-init baseline and one two-stage cell per other source", () => {
    const cells = transferCells(spec);
    assert.equal(cells.length, 3 * 3 * 3);
    const yelp = cells.filter((c) => c.task === "yelp" && c.seed === 0).map((c) => c.options["stage1Task"]);
    assert.deepEqual(yelp.sort(), ["amazon", "imdb", null].sort());
    assert.ok(cells.every((c) => c.method === "prompt-tuning" && c.options["steps"] === 4));
    assert.equal(new Set(cells.map((c) => c.cellId)).size, cells.length);
  });

  it("refuses pairs the two-stage mechanism cannot run (other label words) and unknown tasks", () => {
    assert.throws(
      () => transferCells({ ...spec, tasks: ["yelp", "spam"] }),
      /'spam' -> 'yelp' needs shared labels and label words/,
    );
    assert.throws(() => transferCells({ ...spec, tasks: ["yelp", "yelpp"] }), /unknown task 'yelpp'/);
    assert.throws(() => transferCells({ ...spec, tasks: ["yelp"] }), /needs at least 2 tasks/);
  });

  it("gains are transfer minus baseline, paired by seed", () => {
    const cells = transferCells(spec);
    // baseline accuracy 0.6 + 0.01 * seed; imdb -> yelp adds 0.1, every other pair adds 0
    const records = cells.map((c) => {
      const base = 0.6 + 0.01 * c.seed;
      const acc = c.task === "yelp" && c.options["stage1Task"] === "imdb" ? base + 0.1 : base;
      return fakeRecord(c, { metrics: { accuracy: acc, macroF1: acc, mcc: 0 } });
    });
    const m = transferMatrix(records, spec.tasks);
    assert.equal(m.length, 6);
    const iy = m.find((e) => e.source === "imdb" && e.target === "yelp")!;
    assert.ok(Math.abs(iy.gain.mean - 0.1) < 1e-9);
    assert.ok(Math.abs(iy.baseline.mean - 0.61) < 1e-9);
    assert.equal(iy.gain.n, 3);
    const ay = m.find((e) => e.source === "amazon" && e.target === "yelp")!;
    assert.ok(Math.abs(ay.gain.mean) < 1e-9);
    assert.throws(
      () =>
        transferMatrix(
          records.filter((r) => r.config["stage1Task"] !== null || r.task !== "imdb"),
          spec.tasks,
        ),
      /no seed has both the baseline and the amazon -> imdb record/,
    );
  });
});
