import assert from "node:assert/strict";
import * as path from "node:path";
import type { RunRecord } from "../../lib/experiment/record";
import { resolveKiExperimentOptions } from "../../lib/pretrain/ki-experiment-options";
import { planKiExperiment } from "../../lib/pretrain/ki-experiment-plan";
import { PtCheckRow, backbonePath, ptCheckCells, ptCheckResult, ptCheckSummary } from "../../lib/pretrain/ki-pt-check";
import { setupBackend } from "../helpers";
import { removeTempDirs } from "./ki-fixtures";

describe("pretrain/ki-pt-check", () => {
  before(setupBackend);
  after(removeTempDirs);

  const o = resolveKiExperimentOptions({ seeds: [0, 1], runRoot: "runs/pretrain/ki-exp", ptSteps: 50 });
  const plan = planKiExperiment(o, "kit-nano");
  const root = process.cwd(); // relative run folders are relative to the working directory

  it("runs each method on both students per seed, with the checkpoint folder as the backbone", () => {
    const cells = ptCheckCells(plan, path.resolve(root));
    assert.equal(cells.length, 2 * 2 * 2);
    const c = cells[0]!;
    assert.equal(c.student, "scratch");
    assert.equal(
      c.cell.backbone,
      "runs/pretrain/ki-exp/kit-small-1500steps-b8x128-lr0.002-wu100-wd0.01-eval100x32768/seed0/scratch/model",
    );
    assert.equal(c.cell.task, "yelp");
    assert.equal(c.cell.method, "prompt-tuning");
    assert.equal(c.cell.seed, 0);
    assert.deepEqual(c.cell.options, { steps: 50 });
    assert.equal(new Set(cells.map((x) => x.cell.cellId)).size, cells.length);
    assert.ok(cells.every((x) => x.cell.backbone.includes("/")));
    assert.equal(backbonePath("/elsewhere/m", "/work/proj"), "/elsewhere/m");
    assert.equal(backbonePath("/work/proj/runs/m", "/work/proj"), "runs/m");
  });

  it("turns records into rows and paired means, and refuses records made on other weights", () => {
    const cells = ptCheckCells(plan, path.resolve(root));
    const acc = (i: number) => 0.5 + i / 100;
    const records = cells.map((c, i) => ({
      cellId: c.cell.cellId,
      backbone: { name: c.cell.backbone, fingerprint: `fp-${c.student}-${c.seed}` },
      metrics: { accuracy: acc(i), macroF1: 0, mcc: 0 },
      devMetrics: null,
      steps: 50,
      wallSeconds: 1,
    })) as unknown as RunRecord[];
    const fps = new Map(cells.map((c) => [c.cell.backbone, `fp-${c.student}-${c.seed}`]));
    const check = ptCheckResult(cells, records, fps, o);
    assert.equal(check.rows.length, 8);
    assert.equal(check.rows[1]!.method, "full-finetune");
    assert.equal(check.rows[1]!.testAccuracy, acc(1));
    // order per seed: scratch PT, scratch FT, KI PT, KI FT -> KI - scratch = 2/100 for each method and seed.
    const pt = check.summary.find((r) => r.method === "prompt-tuning")!;
    assert.equal(pt.seeds, 2);
    assert.ok(Math.abs(pt.kiMinusScratch - 0.02) < 1e-12);
    assert.ok(Math.abs(pt.scratchAccuracy - (acc(0) + acc(4)) / 2) < 1e-12);
    assert.throws(
      () => ptCheckResult(cells, records.slice(1), fps, o),
      /no record for cell .* \(prompt-tuning on runs\/.*seed0\/scratch\/model, seed 0\)/,
    );
    const moved = new Map(fps);
    moved.set(cells[0]!.cell.backbone, "fp-new");
    assert.throws(
      () => ptCheckResult(cells, records, moved, o),
      /was made on weights fp-scratch-0, the checkpoint now has fp-new/,
    );
    assert.throws(
      () => ptCheckSummary(check.rows.filter((r: PtCheckRow) => !(r.student === "ki" && r.seed === 1))),
      /prompt-tuning, seed 1: KI row missing/,
    );
  });
});
