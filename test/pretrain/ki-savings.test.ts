import assert from "node:assert/strict";
import { resolveConfig } from "../../lib/backbone/config";
import { sizeConfig } from "../../lib/backbone/sizes";
import { RunSummary } from "../../lib/pretrain/ki-run-summary";
import {
  forwardFlopsPerToken,
  secondsAtStep,
  seedSaving,
  summarizeSavings,
  teacherOverhead,
} from "../../lib/pretrain/ki-savings";
import { setupBackend } from "../helpers";
import { curve, removeTempDirs } from "./ki-fixtures";

describe("pretrain/ki-savings", () => {
  before(setupBackend);
  after(removeTempDirs);

  const scratch = curve([
    [100, 5, 10],
    [200, 4, 20],
    [300, 3.5, 30],
    [400, 3.2, 40],
  ]);
  const ki = curve([
    [100, 4.5, 12],
    [200, 3.4, 24],
    [300, 3.0, 33],
  ]);

  it("estimates forward FLOPs per token and the teacher's share of a KI step", () => {
    const c = resolveConfig({ vocabSize: 10, maxLen: 8, dModel: 4, nLayers: 1, nHeads: 2, dFF: 8 });
    // blocks: 2*2*4 + (4*12+12) + (16+4) + (32+8) + (32+4) = 16 + 60 + 20 + 40 + 36 = 172, plus final LN 8 -> 180.
    assert.equal(forwardFlopsPerToken(c, 8), 2 * (180 + 10 * 4) + 2 * 1 * 8 * 4);
    assert.equal(teacherOverhead(c, c, 8), 1 / 3);
    const nanoOnSmall = teacherOverhead(sizeConfig("kit-nano"), sizeConfig("kit-small"), 128);
    assert.ok(nanoOnSmall > 0.1 && nanoOnSmall < 0.15, String(nanoOnSmall));
  });

  it("interpolates training seconds along a curve", () => {
    assert.equal(secondsAtStep(ki, 250), 28.5);
    assert.equal(secondsAtStep(ki, 50), 6); // before the first evaluation: proportional
    assert.equal(secondsAtStep(ki, 300), 33);
    assert.equal(secondsAtStep(ki, 999), 33);
  });

  it("saves steps, FLOP-equivalent steps with the teacher paid for, and seconds", () => {
    const s = seedSaving(scratch, ki, 0.2, 100);
    assert.equal(s.target, 3.2);
    assert.ok(Math.abs(s.kiSteps! - 250) < 1e-9);
    assert.ok(Math.abs(s.saved! - 0.375) < 1e-12);
    assert.ok(Math.abs(s.kiCostSteps! - (250 + 0.2 * 100)) < 1e-9); // the teacher ran for the first 100 steps only
    assert.ok(Math.abs(s.savedWithTeacher! - (1 - 270 / 400)) < 1e-12);
    assert.ok(Math.abs(s.kiSecondsToTarget! - 28.5) < 1e-9);
    assert.equal(s.scratchSeconds, 40);
    assert.ok(Math.abs(s.savedWallClock! - (1 - 28.5 / 40)) < 1e-12);
    const long = seedSaving(scratch, ki, 0.2, 1000);
    assert.ok(Math.abs(long.kiCostSteps! - 250 * 1.2) < 1e-9); // teacher still on when the target is reached
  });

  it("reports nulls when the KI run never reaches the target, and no mean then", () => {
    const never = seedSaving(
      scratch,
      curve([
        [100, 4, 10],
        [400, 3.3, 40],
      ]),
      0.1,
      200,
    );
    for (const k of [
      "kiSteps",
      "saved",
      "kiCostSteps",
      "savedWithTeacher",
      "kiSecondsToTarget",
      "savedWallClock",
    ] as const)
      assert.equal(never[k], null, k);
    const run = (finalValLoss: number) => ({ finalValLoss }) as RunSummary;
    const reached = seedSaving(scratch, ki, 0.2, 100);
    const both = summarizeSavings([
      { scratch: run(3.3), ki: run(3.1), saving: reached },
      {
        scratch: run(3.5),
        ki: run(3.3),
        saving: { ...reached, saved: 0.125, savedWithTeacher: 0.1, savedWallClock: 0.05 },
      },
    ]);
    assert.equal(both.reached, 2);
    assert.ok(Math.abs(both.meanSaved! - (0.375 + 0.125) / 2) < 1e-12);
    assert.ok(Math.abs(both.meanFinalValLoss.scratch - 3.4) < 1e-12);
    assert.ok(Math.abs(both.meanFinalValLoss.ki - 3.2) < 1e-12);
    const partly = summarizeSavings([
      { scratch: run(3.3), ki: run(3.1), saving: reached },
      { scratch: run(3.3), ki: run(3.4), saving: never },
    ]);
    assert.equal(partly.seeds, 2);
    assert.equal(partly.reached, 1);
    assert.equal(partly.meanSaved, null);
    assert.equal(partly.meanSavedWithTeacher, null);
  });
});
