import assert from "node:assert/strict";
import * as path from "node:path";
import { projectRoot } from "../../lib/experiment/run-cell";
import { checkKiDemo, checkKiResult } from "../../lib/notebook/ki-checks";
import type { KiDemo } from "../../lib/notebook/ki-demo";
import { kiSeedFigure, kiTimeFigure } from "../../lib/notebook/ki-figures";
import {
  kiExperimentRows,
  kiSavingRows,
  kiSavingSentence,
  percentOrNotReached,
  ptCheckTables,
  relativeToRoot,
} from "../../lib/notebook/ki-tables";
import { readKiResult, type KiExperimentResult } from "../../lib/pretrain/ki-experiment";

// The committed result of the kit-small <- kit-nano experiment (results/ki/) is the fixture.
const ROOT = projectRoot();
const FILE = path.join(ROOT, "results", "ki", "kit-small-ki-kit-nano-1500steps.json");

describe("notebook 06 helpers (knowledge inheritance)", () => {
  let r: KiExperimentResult;
  before(() => {
    r = readKiResult(FILE);
  });

  it("tables: one row per experiment, per seed plus the mean, the pt-check; sentences with the numbers", () => {
    const [row] = kiExperimentRows([{ file: FILE, r }], ROOT);
    assert.equal(row!["file"], path.join("results", "ki", "kit-small-ki-kit-nano-1500steps.json"));
    assert.equal(row!["steps"], r.options.steps);
    const rows = kiSavingRows(r);
    assert.equal(rows.length, r.seeds.length + 1);
    assert.equal(rows[rows.length - 1]!["seed"], "mean");
    assert.equal(rows[0]!["saved"], percentOrNotReached(r.seeds[0]!.saving.saved));
    const s = r.seeds[0]!;
    assert.match(
      kiSavingSentence(r, s),
      new RegExp(
        `^seed ${s.seed}: the KI run reached .* after ${s.saving.kiSteps!.toFixed(0)} of ${s.saving.scratchSteps} steps`,
      ),
    );
    assert.match(
      kiSavingSentence({ ...r }, { ...s, saving: { ...s.saving, kiSteps: null } }),
      /never reached the scratch run's final validation loss/,
    );
    const pt = ptCheckTables(r);
    assert.equal(pt === null, r.ptCheck === null);
    if (pt) assert.equal(pt.runs.length, r.ptCheck!.rows.length);
    assert.equal(ptCheckTables({ ...r, ptCheck: null }), null);
    assert.equal(percentOrNotReached(null), "not reached");
    assert.equal(percentOrNotReached(0.3031), "30.3%");
    assert.equal(relativeToRoot("/elsewhere/x.json", ROOT), "/elsewhere/x.json");
  });

  it("figures: both arms per seed with the target and where KI reaches it; every seed against time", () => {
    const s = r.seeds[0]!;
    const f = kiSeedFigure(r, s);
    assert.equal(f.data.length, 2);
    assert.deepEqual(
      (f.data[0] as { y: number[] }).y,
      s.scratch.curve.map((p) => p.valLoss),
    );
    const shapes = (f.layout as { shapes: { y0?: number; x0?: number }[] }).shapes;
    assert.equal(shapes[1]!.y0, s.saving.target, "the target line");
    assert.equal(shapes[2]!.x0, s.saving.kiSteps, "where KI reaches it");
    assert.equal(kiTimeFigure(r).data.length, 2 * r.seeds.length);
  });

  it("checkKiResult accepts the recorded result and refuses one whose saving does not follow from its curves", () => {
    assert.doesNotThrow(() => checkKiResult(FILE, r));
    const s = r.seeds[0]!;
    const tampered = { ...r, seeds: [{ ...s, saving: { ...s.saving, saved: 0.9 } }, ...r.seeds.slice(1)] };
    assert.throws(
      () => checkKiResult(FILE, tampered),
      new RegExp(`check failed: .*seed ${s.seed}: recorded saving .* does not follow from the curves`),
    );
    const short = { ...r, seeds: [{ ...s, ki: { ...s.ki, curve: s.ki.curve.slice(0, -1) } }] };
    assert.throws(() => checkKiResult(FILE, short), /does not follow from the curves|evaluated at different steps/);
  });

  it("checkKiDemo refuses a demo that did not learn, changed the teacher or left the student as from scratch", () => {
    const curve = (a: number, b: number) => [2, 4].map((step, i) => ({ step, valLoss: i === 0 ? a : b, seconds: i }));
    const good: KiDemo = {
      scratch: curve(7, 6.5),
      ki: curve(7, 6.4),
      evalSteps: [2, 4],
      teacherBefore: "sha256:t",
      teacherAfter: "sha256:t",
      sameWeights: false,
      saving: { target: 6.5, scratchSteps: 4, kiSteps: 3.8, saved: 0.05 },
    };
    assert.doesNotThrow(() => checkKiDemo(good));
    assert.throws(() => checkKiDemo({ ...good, ki: curve(7, 7.2) }), /the KI run did not learn/);
    assert.throws(() => checkKiDemo({ ...good, teacherAfter: "sha256:u" }), /teacher's weights changed/);
    assert.throws(() => checkKiDemo({ ...good, sameWeights: true }), /ended with the scratch student's weights/);
    assert.throws(() => checkKiDemo({ ...good, evalSteps: [2, 4, 6] }), /evaluated at 2,4, expected 2,4,6/);
  });
});
